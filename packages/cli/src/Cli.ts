/**
 * The `ai-billing` command tree on @effect/cli. Every command runs the same core programs as the
 * Lambda; only the Layers differ (AWS and Stripe, or local mode's in-memory ports over a directory).
 *
 * @since 0.1.0
 */
import {
  Customer,
  CustomerRepo,
  HandleEvent,
  Ids,
  PlanAdmin,
  Retry,
  StripeEvent,
  UsageSync,
  UtcDay
} from "@augint-billing/core"
import { Simulation } from "@augint-billing/testkit"
import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Cause, Chunk, Clock, Console, Data, Effect, FiberRef, LogLevel, Option, Schema, Stream } from "effect"
import * as Dashboard from "./Dashboard.js"
import * as EnvDump from "./EnvDump.js"
import { CliMode, localDir, withPorts } from "./Environment.js"
import * as Infra from "./Infra.js"
import { aws } from "./internal/adapters.js"
import { causeChain, describeCause } from "./internal/errors.js"
import * as Local from "./Local.js"
import { Output, print, progress, table } from "./Output.js"
import * as Reconcile from "./Reconcile.js"
import * as Replay from "./Replay.js"

/** A failure already reported on stderr; `exitCode` is 2 for usage errors, else 1. */
export class Reported extends Data.TaggedError("Reported")<{ readonly exitCode: 1 | 2 }> {}

/** A command used wrongly in a way the parser cannot see (exit code 2). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** A command that could not do what was asked (exit code 1). */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

// Report a failure as one line on stderr (the whole cause at debug level), once, here at the shell.
const reported = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Reported, R> =>
  self.pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.gen(function*() {
        const level = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
        yield* Console.error(`ai-billing: ${describeCause(cause)}`)
        if (LogLevel.lessThanEqual(level, LogLevel.Debug)) {
          yield* Console.error(Cause.pretty(cause))
          for (const line of causeChain(Cause.squash(cause))) yield* Console.error(line)
        }
        const failure = Cause.failureOption(cause)
        const usage = Option.isSome(failure) && typeof failure.value === "object" && failure.value !== null &&
          "_tag" in failure.value && failure.value._tag === "UsageError"
        return yield* new Reported({ exitCode: usage ? 2 : 1 })
      })
    )
  )

// ---------------------------------------------------------------------------------------------
// global options

const json = Options.boolean("json").pipe(
  Options.withDescription("Print machine-readable JSON on stdout (progress and logs stay on stderr).")
)
const local = Options.directory("local").pipe(
  Options.withDescription(
    "Local mode: all four ports in memory over state kept in this directory (the default, in ./.ai-billing, when no AWS/Stripe variable is set)."
  ),
  Options.optional
)

/** The root command; its options are global (they may follow the subcommand). */
export const root = Command.make("ai-billing", { json, local }).pipe(
  Command.withDescription(
    "Operate augint-billing: usage plans on API Gateway charged through Stripe Billing Meters. Example: ai-billing --local ./state customers list"
  )
)

/** Run `program` with the mode's ports and the output settings, reporting failures. */
const withEnv = <A, E, R>(options: { readonly persist: boolean }, program: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const g = yield* root
    return yield* withPorts(g.local, options, program).pipe(Effect.provideService(Output, { json: g.json }))
  }).pipe(reported)

const described = (text: string, example: string) => HelpDoc.blocks([HelpDoc.p(text), HelpDoc.p(`Example: ${example}`)])

const customerArg = Args.text({ name: "customer" }).pipe(
  Args.withSchema(Ids.CustomerId),
  Args.withDescription("A Stripe customer id, cus_...")
)
const apiKeyArg = Args.text({ name: "api-key" }).pipe(
  Args.withSchema(Ids.ApiKeyId),
  Args.withDescription("An API Gateway API key id")
)

const requireCustomer = (customerId: Ids.CustomerId) =>
  Effect.gen(function*() {
    const repo = yield* CustomerRepo.CustomerRepo
    const found = yield* Retry.repo(repo.get(customerId))
    if (Option.isNone(found)) {
      return yield* new CliError({ message: `no customer ${customerId} (link one: ai-billing customers link ...)` })
    }
    return found.value
  })

// ---------------------------------------------------------------------------------------------
// env-dump

const envDump = Command.make("env-dump", {}, () =>
  Effect.gen(function*() {
    const g = yield* root
    const dir = yield* localDir(g.local)
    const dump = yield* EnvDump.dump(dir)
    yield* print(EnvDump.Dump, dump, EnvDump.format).pipe(Effect.provideService(Output, { json: g.json }))
  }).pipe(reported)).pipe(
    Command.withDescription(described(
      "The resolved configuration; secrets are shown as <redacted>.",
      "ai-billing env-dump --json"
    ))
  )

// ---------------------------------------------------------------------------------------------
// handle-event

/** What `handle-event` printed. */
export const EventResult = Schema.Struct({
  eventId: Schema.String,
  type: Schema.String,
  dryRun: Schema.Boolean,
  outcome: Schema.Literal("Ignored", "Duplicate", "UnknownCustomer", "Stale", "Applied"),
  customerId: Schema.NullOr(Schema.String),
  decision: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String)
})
/** What `handle-event` printed. */
export type EventResult = typeof EventResult.Type

const toResult = (type: string, dryRun: boolean, outcome: HandleEvent.Outcome): EventResult => {
  const base = { eventId: outcome.eventId, type, dryRun, outcome: outcome._tag }
  switch (outcome._tag) {
    case "Applied":
      return {
        ...base,
        customerId: outcome.customerId,
        decision: outcome.decision._tag,
        reason: "reason" in outcome.decision
          ? outcome.decision.reason
          : "cause" in outcome.decision
          ? outcome.decision.cause
          : null
      }
    case "Stale":
      return { ...base, customerId: outcome.customerId, decision: null, reason: "older than the record's state" }
    case "UnknownCustomer":
      return { ...base, customerId: outcome.customerId ?? null, decision: null, reason: "no customer link" }
    case "Ignored":
      return { ...base, customerId: null, decision: null, reason: `type ${outcome.type} is not handled` }
    case "Duplicate":
      return { ...base, customerId: null, decision: null, reason: "processed before" }
  }
}

const formatResult = (r: EventResult) =>
  `${r.eventId} (${r.type}): ${r.outcome}${r.decision === null ? "" : ` ${r.decision}`}${
    r.customerId === null ? "" : ` for ${r.customerId}`
  }${r.reason === null ? "" : ` (${r.reason})`}${r.dryRun ? " [dry run: nothing changed]" : ""}`

/**
 * Decode, mirror into the local Stripe (local mode, events from a file: what Stripe sent says what it
 * holds), then plan or handle an event.
 */
const processEvent = (raw: unknown, dryRun: boolean, mirror: boolean) =>
  Effect.gen(function*() {
    const event = yield* StripeEvent.decode(raw)
    const mode = yield* CliMode
    if (mirror && mode._tag === "Local") Local.mirrorEvent(mode.local.state, raw)
    const type = event._tag === "Ignored" ? event.type : typeof raw === "object" && raw !== null && "type" in raw
      ? String(raw.type)
      : event._tag
    const outcome = dryRun ? (yield* HandleEvent.plan(raw)).outcome : yield* HandleEvent.handleEvent(raw)
    return toResult(type, dryRun, outcome)
  })

const readJsonFile = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new CliError({ message: `cannot read ${file}: ${e.message}` }))
    )
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new CliError({ message: `${file} is not JSON: ${e instanceof Error ? e.message : String(e)}` })
    })
  })

const handleEvent = Command.make("handle-event", {
  file: Options.file("file", { exists: "yes" }).pipe(Options.withDescription("A Stripe event JSON file")),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("Print the decision (promote, demote, flush, ignore, duplicate) without applying it")
  )
}, ({ dryRun, file }) =>
  withEnv(
    { persist: !dryRun },
    Effect.gen(function*() {
      const raw = yield* readJsonFile(file)
      const result = yield* processEvent(raw, dryRun, true)
      yield* print(EventResult, result, formatResult)
    })
  )).pipe(
    Command.withDescription(described(
      "Process a Stripe event locally through handleEvent (dedupe, staleness guard, promote/demote/flush).",
      "ai-billing handle-event --file packages/cli/examples/setup-intent-succeeded.json --dry-run"
    ))
  )

// ---------------------------------------------------------------------------------------------
// sync-usage

// A clock standing at `at` when the command starts and running on from there; sleeps are real.
const clockAt = (at: number): Effect.Effect<Clock.Clock> =>
  Effect.sync(() => {
    const real = Clock.make()
    const offset = at - real.unsafeCurrentTimeMillis()
    const millis = () => real.unsafeCurrentTimeMillis() + offset
    return {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: millis,
      currentTimeMillis: Effect.sync(millis),
      unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
      currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
      sleep: (duration) => real.sleep(duration)
    }
  })

const formatSync = (r: UsageSync.SyncReport) =>
  [
    `${
      r.dryRun ? "dry run: would report" : "reported"
    } ${r.unitsReported} units for ${r.customersReported} of ${r.customersSeen} customers (${
      r.days.join(", ")
    }): ${r.meterEventsSent} meter events, ${r.customersSkipped} with nothing new, ${r.customersContended} contended, ${r.customersFailed} failed`,
    ...r.failures.map((f) => `  failed ${f.customerId}: ${f.reason}`),
    ...r.anomalies.map((a) => `  anomaly ${a.customerId} ${a.day}: counted ${a.observed} < reported ${a.reported}`)
  ].join("\n")

const syncUsage = Command.make("sync-usage", {
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Compute what would be reported; send nothing")),
  customer: Options.text("customer").pipe(
    Options.repeated,
    Options.withSchema(Schema.mutable(Schema.Array(Ids.CustomerId))),
    Options.withDescription("Only this customer (repeatable)")
  ),
  at: Options.date("at").pipe(
    Options.optional,
    Options.withDescription("Run as if the time were this ISO instant (e.g. 2026-03-01T12:00:00Z)")
  )
}, ({ at, customer, dryRun }) =>
  withEnv(
    { persist: !dryRun },
    Effect.gen(function*() {
      const out = yield* progress("customers synced")
      const report = yield* UsageSync.syncUsage({
        dryRun,
        ...(customer.length === 0 ? {} : { customerIds: customer }),
        onProgress: out.update
      }).pipe(Effect.ensuring(Effect.sync(out.finish)))
      const mode = yield* CliMode
      if (mode._tag === "Local" && !dryRun) mode.local.lastSync = report
      yield* print(UsageSync.SyncReport, report, formatSync)
      if (report.customersFailed > 0) {
        return yield* new CliError({ message: `${report.customersFailed} customers failed to sync (see above)` })
      }
    }).pipe(
      (self) => Option.isSome(at) ? Effect.flatMap(clockAt(at.value.getTime()), (c) => Effect.withClock(self, c)) : self
    )
  )).pipe(
    Command.withDescription(described(
      "Run the hourly usage sync now: API Gateway counts reported to Stripe exactly once.",
      "ai-billing sync-usage --dry-run --customer cus_123 --at 2026-03-01T12:00:00Z"
    ))
  )

// ---------------------------------------------------------------------------------------------
// monitor, infra

const dashboard = Command.make(
  "dashboard",
  {},
  () =>
    withEnv(
      { persist: false },
      Effect.flatMap(Dashboard.gather, (d) => print(Dashboard.Dashboard, d, Dashboard.format))
    )
)
  .pipe(Command.withDescription(described(
    "Customers by plan, the last sync and its lag, pending reports, the last run's failures, units reported today and this month.",
    "ai-billing monitor dashboard --json"
  )))

const monitor = Command.make("monitor").pipe(
  Command.withDescription(described("Monitoring views.", "ai-billing monitor dashboard")),
  Command.withSubcommands([dashboard])
)

const infraStatus = Command.make("status", {}, () =>
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

const infra = Command.make("infra").pipe(
  Command.withDescription(described("Infrastructure checks.", "ai-billing infra status")),
  Command.withSubcommands([infraStatus])
)

// ---------------------------------------------------------------------------------------------
// customers

/** A customer as `customers` commands print it. */
export const CustomerView = Schema.Struct({
  customer: Customer.Customer,
  plans: Schema.NullOr(Schema.Array(Schema.String))
})
/** A customer as `customers` commands print it. */
export type CustomerView = typeof CustomerView.Type

const customerLines = (c: Customer.Customer) => {
  const ledger = Object.entries(c.ledger).sort(([a], [b]) => a.localeCompare(b))
  return [
    `customer        ${c.customerId}`,
    `api key         ${c.apiKeyId}`,
    `plan            ${c.plan}`,
    `subscription    ${c.subscriptionId ?? "-"}`,
    `pending report  ${
      c.pending === undefined ? "-" : `${c.pending.day} +${c.pending.value} (${c.pending.identifier})`
    }`,
    `payment failed  ${c.paymentFailedAt === undefined ? "-" : new Date(c.paymentFailedAt * 1000).toISOString()}`,
    `settle until    ${c.settleUntil === undefined ? "-" : new Date(c.settleUntil).toISOString()}`,
    `version         ${c.version}`,
    `ledger          ${ledger.length === 0 ? "-" : ledger.map(([d, u]) => `${d}: ${u}`).join(", ")}`
  ]
}

const customersList = Command.make("list", {
  plan: Options.choice("plan", ["FREE", "METERED"]).pipe(Options.optional, Options.withDescription("Only this plan"))
}, ({ plan }) =>
  withEnv(
    { persist: false },
    Effect.gen(function*() {
      const repo = yield* CustomerRepo.CustomerRepo
      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(repo.list()))
      const customers = all.filter((c) => Option.isNone(plan) || c.plan === plan.value)
        .sort((a, b) => a.customerId.localeCompare(b.customerId))
      yield* print(Schema.Array(Customer.Customer), customers, (cs) =>
        cs.length === 0 ? "no customers" : table(
          ["customer", "api key", "plan", "subscription", "pending", "updated"],
          cs.map((c) => [
            c.customerId,
            c.apiKeyId,
            c.plan,
            c.subscriptionId ?? "-",
            c.pending === undefined ? "-" : `${c.pending.day} +${c.pending.value}`,
            new Date(c.updatedAt).toISOString()
          ])
        ))
    })
  )).pipe(Command.withDescription(described("List customer links.", "ai-billing customers list --plan METERED")))

const customersShow = Command.make("show", { customer: customerArg }, ({ customer }) =>
  withEnv(
    { persist: false },
    Effect.gen(function*() {
      const record = yield* requireCustomer(customer)
      const admin = yield* PlanAdmin.PlanAdmin
      const plans = yield* Retry.planAdmin(admin.plansOf(record.apiKeyId)).pipe(
        Effect.map((ps): ReadonlyArray<string> | null => ps),
        Effect.catchAll((e) =>
          Effect.logWarning(`cannot read the key's usage plans: ${e.message}`).pipe(Effect.as(null))
        )
      )
      yield* print(CustomerView, { customer: record, plans }, (v) =>
        [...customerLines(v.customer), `usage plans     ${v.plans === null ? "unknown" : v.plans.join(", ") || "none"}`]
          .join("\n"))
    })
  )).pipe(
    Command.withDescription(
      described("Show one customer's record and its key's usage plans.", "ai-billing customers show cus_123")
    )
  )

const customersLink = Command.make(
  "link",
  { customer: customerArg, apiKey: apiKeyArg },
  ({ apiKey, customer }) =>
    withEnv(
      { persist: true },
      Effect.gen(function*() {
        const repo = yield* CustomerRepo.CustomerRepo
        const mode = yield* CliMode
        if (mode._tag === "Local") {
          yield* Local.ensureAccount(mode.local.state, { customerId: customer, apiKeyId: apiKey })
        }
        const record = yield* UsageSync.newLink({ customerId: customer, apiKeyId: apiKey })
        const created = yield* Retry.repo(repo.create(record))
          .pipe(
            Effect.catchTag("VersionConflict", (e) => new CliError({ message: `not linked: ${e.message}` }))
          )
        yield* print(Customer.Customer, created, (c) => `linked ${c.customerId} to key ${c.apiKeyId} on the FREE plan`)
      })
    )
).pipe(Command.withDescription(described(
  "Link a Stripe customer to an API key (a new record on the free plan; the key's metered usage so far counts as already billed, so a link bills only what comes after it). In local mode the Stripe customer and the key are created too.",
  "ai-billing customers link cus_123 key123"
)))

const customersUnlink = Command.make("unlink", {
  customer: customerArg,
  force: Options.boolean("force").pipe(
    Options.withDescription("Unlink even a metered customer or one with a pending report (billing for the key stops)")
  )
}, ({ customer, force }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const repo = yield* CustomerRepo.CustomerRepo
      const record = yield* requireCustomer(customer)
      if (!force && (record.plan === "METERED" || record.pending !== undefined)) {
        return yield* new CliError({
          message: `${customer} is ${
            record.plan === "METERED" ? "on the metered plan" : "holding a pending report"
          }: demote it first (ai-billing plan demote ${customer}) or pass --force`
        })
      }
      yield* Retry.repo(repo.remove(record)).pipe(
        Effect.catchTag("VersionConflict", (e) =>
          new CliError({ message: `not unlinked, the record changed: ${e.message}` }))
      )
      yield* print(Customer.Customer, record, (c) =>
        `unlinked ${c.customerId} from key ${c.apiKeyId}`)
    })
  )).pipe(Command.withDescription(described("Remove a customer link.", "ai-billing customers unlink cus_123")))

const customers = Command.make("customers").pipe(
  Command.withDescription(described("Customer links: list, show, link, unlink.", "ai-billing customers list")),
  Command.withSubcommands([customersList, customersShow, customersLink, customersUnlink])
)

// ---------------------------------------------------------------------------------------------
// plan promote | demote: synthetic events through handleEvent, so the same guarantees hold

const manualEvent = (kind: "promote" | "demote", customerId: Ids.CustomerId) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const created = Math.floor(now / 1000)
    const suffix = `${now.toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`
    const id = `evt_cli_${kind}_${suffix}`
    return kind === "promote"
      ? {
        id,
        object: "event",
        type: "setup_intent.succeeded",
        created,
        data: {
          object: { id: `seti_cli_${suffix}`, object: "setup_intent", customer: customerId, status: "succeeded" }
        }
      }
      : {
        id,
        object: "event",
        type: "invoice.payment_failed",
        created,
        data: {
          object: {
            id: `in_cli_${suffix}`,
            object: "invoice",
            customer: customerId,
            attempt_count: 1,
            next_payment_attempt: null
          }
        }
      }
  })

const planCommand = (kind: "promote" | "demote") =>
  Command.make(kind, {
    customer: customerArg,
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Print the decision without applying it"))
  }, ({ customer, dryRun }) =>
    withEnv(
      { persist: !dryRun },
      Effect.gen(function*() {
        yield* requireCustomer(customer)
        const raw = yield* manualEvent(kind, customer)
        // A synthetic event says nothing about what Stripe holds: never mirrored.
        const result = yield* processEvent(raw, dryRun, false)
        yield* print(EventResult, result, formatResult)
      })
    )).pipe(Command.withDescription(described(
      kind === "promote"
        ? "Promote a customer by hand: a synthetic setup_intent.succeeded through handleEvent (Stripe must hold a usable payment method)."
        : "Demote a customer by hand: a synthetic final invoice.payment_failed through handleEvent (key to FREE, usage flushed, subscription cancelled with a final invoice).",
      `ai-billing plan ${kind} cus_123`
    )))

const plan = Command.make("plan").pipe(
  Command.withDescription(
    described("Move a customer between plans through the flows.", "ai-billing plan promote cus_123")
  ),
  Command.withSubcommands([planCommand("promote"), planCommand("demote")])
)

// ---------------------------------------------------------------------------------------------
// reconcile, replay-events

const dayOption = (name: string, description: string) =>
  Options.text(name).pipe(Options.withSchema(UtcDay.UtcDay), Options.optional, Options.withDescription(description))

const reconcile = Command.make("reconcile", {
  from: dayOption("from", "First UTC day, YYYY-MM-DD (default: 6 days before --to)"),
  to: dayOption("to", "Last UTC day, YYYY-MM-DD (default: today)"),
  fix: Options.boolean("fix").pipe(
    Options.withDescription("Report units API Gateway counted but the ledger lacks, through the exactly-once path")
  )
}, ({ fix, from, to }) =>
  withEnv(
    { persist: fix },
    Effect.gen(function*() {
      const today = UtcDay.fromMillis(yield* Clock.currentTimeMillis)
      const last = Option.getOrElse(to, () => today)
      const first = Option.getOrElse(from, () => UtcDay.add(last, -6))
      const span = UtcDay.between(first, last).length
      if (span === 0) return yield* new UsageError({ message: `--from ${first} is after --to ${last}` })
      if (span > 90) return yield* new UsageError({ message: `at most 90 days at once (${first}..${last} is ${span})` })
      const report = yield* Reconcile.reconcile({ from: first, to: last, fix })
      yield* print(Reconcile.Report, report, Reconcile.format)
      if (report.fixed !== null && report.fixed.failures.length > 0) {
        return yield* new CliError({ message: `${report.fixed.failures.length} customers could not be fixed` })
      }
    })
  )).pipe(Command.withDescription(described(
    "Per customer and day: API Gateway usage vs the ledger vs Stripe meter event summaries; prints the drift.",
    "ai-billing reconcile --from 2026-03-01 --to 2026-03-07 --fix"
  )))

const replayEvents = Command.make("replay-events", {
  since: Options.date("since").pipe(
    Options.withDescription("Replay events created at or after this ISO time (Stripe keeps 30 days)")
  )
}, ({ since }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const report = yield* Replay.replay(Math.floor(since.getTime() / 1000))
      yield* print(Replay.Report, report, Replay.format)
      if (report.failures.length > 0) {
        return yield* new CliError({ message: `${report.failures.length} events failed (see above)` })
      }
    })
  )).pipe(Command.withDescription(described(
    "Fetch Stripe events since a time and run them through handleEvent with dedupe (recovers missed webhooks).",
    "ai-billing replay-events --since 2026-03-01T00:00:00Z"
  )))

// ---------------------------------------------------------------------------------------------
// table create

const tableCreate = Command.make("create", {}, () =>
  Effect.gen(function*() {
    const g = yield* root
    const dir = yield* localDir(g.local)
    const out = Effect.provideService(Output, { json: g.json })
    const Result = Schema.Struct({ table: Schema.String, result: Schema.Literal("Created", "AlreadyExists") })
    if (Option.isSome(dir)) {
      const existed = yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(`${dir.value}/state.json`))
      yield* withPorts(g.local, { persist: true }, Effect.void)
      const value: typeof Result.Type = { table: dir.value, result: existed ? "AlreadyExists" : "Created" }
      return yield* print(Result, value, (r) => `local store ${r.table}: ${r.result}`).pipe(out)
    }
    const { DynamoCustomerRepo } = yield* aws
    const options = yield* DynamoCustomerRepo.optionsConfig
    const result = yield* DynamoCustomerRepo.createTable(options)
    yield* print(Result, { table: options.tableName, result }, (r) => `table ${r.table}: ${r.result}`).pipe(out)
  }).pipe(reported)).pipe(Command.withDescription(described(
    "Create the customer table with its sync index and TTL (local and development use; production tables come from the template).",
    "AWS_REGION=us-east-1 TABLE_NAME=dev-links AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:18000 ai-billing table create"
  )))

const tableCommand = Command.make("table").pipe(
  Command.withDescription(described("The customer table.", "ai-billing table create")),
  Command.withSubcommands([tableCreate])
)

// ---------------------------------------------------------------------------------------------
// local: seeding and usage, local mode only

const usageAdd = Command.make("add", {
  apiKey: apiKeyArg,
  units: Args.integer({ name: "units" }).pipe(Args.withDescription("Requests to count")),
  day: dayOption("day", "The UTC day counted (default: today)")
}, ({ apiKey, day, units }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const s = yield* Local.state("local usage add")
      if (units < 1) return yield* new UsageError({ message: `units must be at least 1, got ${units}` })
      const d = Option.getOrElse(day, () => UtcDay.fromMillis(Date.now()))
      const plan = Local.addUsage(s, { apiKeyId: apiKey, units, day: d })
      if (plan === undefined) {
        return yield* new CliError({
          message: `key ${apiKey} is in no usage plan: link it first (ai-billing customers link)`
        })
      }
      const Added = Schema.Struct({
        apiKeyId: Schema.String,
        units: Schema.Int,
        day: Schema.String,
        usagePlanId: Schema.String
      })
      yield* print(Added, { apiKeyId: apiKey, units, day: d, usagePlanId: plan }, (a) =>
        `counted ${a.units} requests of ${a.apiKeyId} on ${a.day} in ${a.usagePlanId}`)
    })
  )).pipe(Command.withDescription(described(
    "Count requests for a key in the plan it is in (what API Gateway would count).",
    "ai-billing local usage add key123 250"
  )))

const seed = Command.make("seed", {
  customers: Options.integer("customers").pipe(Options.withDefault(10), Options.withDescription("How many to link")),
  cards: Options.boolean("cards").pipe(Options.withDescription("Give each a payment method in the local Stripe"))
}, ({ cards, customers }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const s = yield* Local.state("local seed")
      if (customers < 1 || customers > 100_000) {
        return yield* new UsageError({ message: `--customers must be 1-100000, got ${customers}` })
      }
      const created = yield* Local.seed(s, { count: customers, withCards: cards })
      yield* print(Schema.Array(Schema.String), created, (ids) =>
        `linked ${ids.length} customers (${ids[0] ?? ""}..${ids[ids.length - 1] ?? ""}) on the FREE plan`)
    })
  )).pipe(Command.withDescription(described(
    "Link N customers cus_seed<n> / key_seed<n> on the free plan.",
    "ai-billing local seed --customers 50 --cards"
  )))

const eventsAdd = Command.make("add", {
  file: Options.file("file", { exists: "yes" }).pipe(Options.withDescription("A Stripe event JSON file"))
}, ({ file }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const s = yield* Local.state("local events add")
      const raw = yield* readJsonFile(file)
      const event = yield* StripeEvent.decode(raw)
      Local.mirrorEvent(s, raw)
      yield* print(Schema.Struct({ eventId: Schema.String }), { eventId: event.id }, (e) =>
        `${e.eventId} is in the local Stripe's event list, not handled (a missed webhook): ai-billing replay-events --since ...`)
    })
  )).pipe(Command.withDescription(described(
    "Put an event into the local Stripe without handling it, as a missed webhook.",
    "ai-billing local events add --file packages/cli/examples/invoice-created.json"
  )))

const localCommand = Command.make("local").pipe(
  Command.withDescription(
    described("Local mode only: seed customers, count usage, add events.", "ai-billing local usage add key123 250")
  ),
  Command.withSubcommands([
    seed,
    Command.make("usage").pipe(
      Command.withDescription(
        described("Usage counted by the local API Gateway.", "ai-billing local usage add key123 250")
      ),
      Command.withSubcommands([usageAdd])
    ),
    Command.make("events").pipe(
      Command.withDescription(described("Events in the local Stripe.", "ai-billing local events add --file e.json")),
      Command.withSubcommands([eventsAdd])
    )
  ])
)

// ---------------------------------------------------------------------------------------------
// demo

const demo = Command.make("demo", {
  customers: Options.integer("customers").pipe(Options.withDefault(36), Options.withDescription("Customers simulated")),
  days: Options.integer("days").pipe(Options.withDefault(30), Options.withDescription("Days simulated")),
  seed: Options.integer("seed").pipe(Options.withDefault(42), Options.withDescription("Seed of the traffic and faults"))
}, ({ customers, days, seed }) =>
  Effect.gen(function*() {
    const g = yield* root
    const report = yield* Simulation.run({ customers, days, seed })
    yield* print(Schema.Unknown, report as unknown, () => Simulation.format(report)).pipe(
      Effect.provideService(Output, { json: g.json })
    )
    if (report.violations.length > 0) {
      return yield* new CliError({ message: `${report.violations.length} invariant violations (see above)` })
    }
  }).pipe(reported)).pipe(Command.withDescription(described(
    "The simulated month: customers, webhooks and hourly syncs on the in-memory ports with faults; checks the invariants.",
    "ai-billing demo --customers 12 --days 7"
  )))

// ---------------------------------------------------------------------------------------------

/** The whole command tree. */
export const command = root.pipe(Command.withSubcommands([
  envDump,
  handleEvent,
  syncUsage,
  monitor,
  infra,
  customers,
  plan,
  reconcile,
  replayEvents,
  tableCommand,
  localCommand,
  demo
]))

/** Parse the arguments and run the command. */
export const run = Command.run(command, { name: "ai-billing", version: "0.1.0" })

/** The exit code of a failure: 2 for usage errors (bad arguments included), else 1. */
export const exitCodeOf = (error: unknown): 1 | 2 =>
  ValidationError.isValidationError(error)
    ? 2
    : typeof error === "object" && error !== null && "_tag" in error && error._tag === "Reported" &&
        "exitCode" in error && error.exitCode === 2
    ? 2
    : 1
