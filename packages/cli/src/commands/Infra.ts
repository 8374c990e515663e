/**
 * `env-dump`, `monitor dashboard`, `infra status` and `table create`: what the deployment looks like.
 *
 * @since 0.2.0
 */
import { Command } from "@effect/cli"
import { Effect, Option } from "effect"
import * as Dashboard from "../Dashboard.js"
import * as EnvDump from "../EnvDump.js"
import { localDir } from "../Environment.js"
import * as Infra from "../Infra.js"
import { print } from "../Output.js"
import { CliError, described, reported, root, withEnv, withOutput, withStack } from "../Shell.js"

/**
 * `env-dump`.
 *
 * @since 0.2.0
 * @category commands
 */
export const envDump = Command.make("env-dump", {}, () =>
  Effect.gen(function*() {
    const g = yield* root
    const dump = yield* EnvDump.dump(yield* localDir(g.local))
    yield* withOutput(print(EnvDump.Dump, dump, EnvDump.format))
  }).pipe(withStack, reported)).pipe(Command.withDescription(described(
    "The resolved configuration; secrets are shown as <redacted>.",
    "ai-billing env-dump --json"
  )))

const dashboard = Command.make("dashboard", {}, () =>
  withEnv(
    { persist: false },
    Effect.flatMap(Dashboard.gather, (d) => print(Dashboard.Dashboard, d, Dashboard.format))
  )).pipe(Command.withDescription(described(
    "Customers by plan, the last sync and its lag, pending reports, the last run's failures, units reported today and this month.",
    "ai-billing monitor dashboard --json"
  )))

/**
 * `monitor dashboard`.
 *
 * @since 0.2.0
 * @category commands
 */
export const monitor = Command.make("monitor").pipe(
  Command.withDescription(described("Monitoring views.", "ai-billing monitor dashboard")),
  Command.withSubcommands([dashboard])
)

const status = Command.make("status", {}, () =>
  withEnv(
    { persist: false },
    Effect.gen(function*() {
      const report = yield* Infra.status
      yield* print(Infra.Report, report, Infra.format)
      if (!report.ok) {
        return yield* new CliError({
          message: `${report.checks.filter((c) => !c.ok).length} of ${report.checks.length} checks failed`
        })
      }
    })
  )).pipe(Command.withDescription(described(
    "One pass/fail line per dependency (table, usage plans, Stripe meter and price, webhook secret); exit 1 when any fails.",
    "ai-billing infra status"
  )))

/**
 * `infra status`.
 *
 * @since 0.2.0
 * @category commands
 */
export const infra = Command.make("infra").pipe(
  Command.withDescription(described("Infrastructure checks.", "ai-billing infra status")),
  Command.withSubcommands([status])
)

const create = Command.make("create", {}, () =>
  Effect.gen(function*() {
    const g = yield* root
    const dir = yield* localDir(g.local)
    const result = yield* Infra.createTable(dir)
    yield* withOutput(print(Infra.TableResult, result, Infra.formatTable(Option.isSome(dir))))
  }).pipe(withStack, reported)).pipe(Command.withDescription(described(
    "Create the customer table with its sync index and TTL (local and development use; production tables come from the template).",
    "AWS_REGION=us-east-1 TABLE_NAME=dev-links AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:18000 ai-billing table create"
  )))

/**
 * `table create`.
 *
 * @since 0.2.0
 * @category commands
 */
export const table = Command.make("table").pipe(
  Command.withDescription(described("The customer table.", "ai-billing table create")),
  Command.withSubcommands([create])
)
