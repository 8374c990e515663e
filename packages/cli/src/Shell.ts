/**
 * What every command shares: the root command with the global options, the errors a command fails
 * with, running a program with the mode's ports, and reporting a failure once, at the shell.
 *
 * @since 0.1.0
 */
import { Ids, UtcDay } from "@augint-billing/core"
import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Cause, Config, Console, Data, Effect, FiberRef, LogLevel, Option, Schema } from "effect"
import { withPorts } from "./Environment.js"
import { causeChain, describeCause } from "./internal/errors.js"
import { Output } from "./Output.js"
import * as Stack from "./Stack.js"

/**
 * A failure already reported on stderr; `exitCode` is 2 for usage errors, 3 for a sync stopped at its
 * deadline (`Sync.StoppedEarly`), else 1.
 *
 * @since 0.1.0
 * @category errors
 */
export class Reported extends Data.TaggedError("Reported")<{ readonly exitCode: 1 | 2 | 3 }> {}

/**
 * A command used wrongly in a way the parser cannot see (exit code 2).
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/**
 * A command that could not do what was asked (exit code 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

/**
 * Report a failure as one line on stderr (the whole cause at debug level), once, here at the shell.
 *
 * @since 0.2.0
 * @category utils
 */
export const reported = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Reported, R> =>
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
        const tag = Option.isSome(failure) && typeof failure.value === "object" && failure.value !== null &&
            "_tag" in failure.value
          ? failure.value._tag
          : undefined
        return yield* new Reported({ exitCode: tag === "UsageError" ? 2 : tag === "StoppedEarly" ? 3 : 1 })
      })
    )
  )

const json = Options.boolean("json").pipe(
  Options.withDescription("Print machine-readable JSON on stdout (progress and logs stay on stderr).")
)
const local = Options.directory("local").pipe(
  Options.withDescription(
    "Local mode: all four ports in memory over state kept in this directory (the default, in ./.ai-billing, when no AWS/Stripe variable is set)."
  ),
  Options.optional
)
const stack = Options.text("stack").pipe(
  Options.withDescription(
    `A deployed stack: its CloudFormation outputs (table, usage plans, meter, price, secrets) configure the command (or ${Stack.STACK_VARIABLE}).`
  ),
  Options.optional
)

/**
 * The root command; its options are global.
 *
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("ai-billing", { json, local, stack }).pipe(
  Command.withDescription(
    "Operate augint-billing: usage plans on API Gateway charged through Stripe Billing Meters. Example: ai-billing --local ./state customers list"
  )
)

/**
 * Run `program` configured from the stack `--stack` (or `AI_BILLING_STACK`) names, if any; once, however
 * often it is wrapped. A stack and `--local` together are a usage error.
 *
 * @since 0.3.0
 * @category utils
 */
export const withStack = <A, E, R>(program: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    if (Option.isSome(yield* Effect.serviceOption(Stack.CurrentStack))) return yield* program
    const g = yield* root
    const name = Option.isSome(g.stack)
      ? g.stack
      : yield* Effect.orDie(Config.option(Config.nonEmptyString(Stack.STACK_VARIABLE)))
    if (Option.isNone(name)) return yield* program
    if (Option.isSome(g.local)) {
      return yield* new UsageError({ message: `--local and a stack (${name.value}) exclude each other: use one` })
    }
    return yield* Stack.withStack(name.value, program)
  })

/**
 * The output settings the global options ask for, configured from the stack if one is named.
 *
 * @since 0.2.0
 * @category utils
 */
export const withOutput = <A, E, R>(program: Effect.Effect<A, E, R>) =>
  withStack(Effect.flatMap(root, (g) => Effect.provideService(program, Output, { json: g.json })))

/**
 * Run `program` with the mode's ports and the output settings, reporting failures.
 *
 * @since 0.2.0
 * @category utils
 */
export const withEnv = <A, E, R>(options: { readonly persist: boolean }, program: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const g = yield* root
    return yield* withPorts(g.local, options, program).pipe(Effect.provideService(Output, { json: g.json }))
  }).pipe(withStack, reported)

/**
 * A command's help: what it does and one example.
 *
 * @since 0.2.0
 * @category utils
 */
export const described = (text: string, example: string) =>
  HelpDoc.blocks([HelpDoc.p(text), HelpDoc.p(`Example: ${example}`)])

/**
 * `schema` whose every failure reads `<label>: <what> (got '<input>')`, naming the argument or option.
 *
 * @since 0.2.0
 * @category utils
 */
export const named = <A, I>(schema: Schema.Schema<A, I>, label: string, what: string): Schema.Schema<A, I> =>
  schema.annotations({
    message: (issue) => ({
      message: `${label}: ${what} (got ${JSON.stringify(issue.actual)})`,
      override: true
    })
  })

/**
 * An ISO instant option (`2026-03-01T12:00:00Z`), its errors naming it.
 *
 * @since 0.2.0
 * @category args
 */
export const instantOption = (name: string) =>
  Options.text(name).pipe(
    Options.withSchema(named(Schema.Date, `--${name}`, "an ISO instant such as 2026-03-01T12:00:00Z")),
    Options.withPseudoName("ISO-INSTANT")
  )

/**
 * The `<customer>` argument.
 *
 * @since 0.2.0
 * @category args
 */
export const customerArg = Args.text({ name: "customer" }).pipe(
  Args.withSchema(named(Ids.CustomerId, "<customer>", "a Stripe customer id looks like cus_...")),
  Args.withDescription("A Stripe customer id, cus_...")
)

/**
 * The `<api-key>` argument.
 *
 * @since 0.2.0
 * @category args
 */
export const apiKeyArg = Args.text({ name: "api-key" }).pipe(
  Args.withSchema(named(Ids.ApiKeyId, "<api-key>", "an API key id is 1-128 letters, digits, _ or -")),
  Args.withDescription("An API Gateway API key id")
)

/**
 * An optional UTC day option, `YYYY-MM-DD`.
 *
 * @since 0.2.0
 * @category args
 */
export const dayOption = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withSchema(named(UtcDay.UtcDay, `--${name}`, "a UTC calendar day, YYYY-MM-DD")),
    Options.withPseudoName("YYYY-MM-DD"),
    Options.optional,
    Options.withDescription(description)
  )

/**
 * Read and parse a JSON file, failing with one clear line.
 *
 * @since 0.2.0
 * @category utils
 */
export const readJsonFile = (file: string) =>
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

/**
 * The exit code of a failure: 2 for usage errors (bad arguments included), 3 for a sync stopped at its
 * deadline, else 1.
 *
 * @since 0.1.0
 * @category utils
 */
export const exitCodeOf = (error: unknown): 1 | 2 | 3 =>
  ValidationError.isValidationError(error)
    ? 2
    : typeof error === "object" && error !== null && "_tag" in error && error._tag === "Reported" &&
        "exitCode" in error && (error.exitCode === 2 || error.exitCode === 3)
    ? error.exitCode
    : 1
