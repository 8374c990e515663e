#!/usr/bin/env node
/**
 * The `ai-billing` executable: the command tree run with `NodeRuntime.runMain`, logs on stderr, exit
 * code 0 on success, 2 on a usage error, 1 on any other failure (already reported as one line), 130
 * when interrupted by Ctrl-C (SIGINT), 143 by SIGTERM.
 *
 * @since 0.1.0
 */
// Only these two modules: the package index loads undici, whose global dispatcher breaks the stripe
// SDK's fetch ("invalid content-length header").
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, ConfigProvider, Effect, Exit, Layer, Logger, LogLevel, Option, Scheduler } from "effect"
import * as Argv from "./Argv.js"
import { command, run } from "./Cli.js"
import * as Completions from "./Completions.js"
import { withPlainConsole } from "./internal/console.js"
import { exitCodeOf } from "./Shell.js"

// `AWS_DEFAULT_REGION` stands for `AWS_REGION` when that is unset, as in the AWS CLI.
const env = { ...process.env }
if ((env["AWS_REGION"] ?? "") === "" && (env["AWS_DEFAULT_REGION"] ?? "") !== "") {
  env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
}

// Logs are for operators on stderr; below warnings only with --log-level (stdout carries the results).
const MainLive = Layer.mergeAll(
  NodeContext.layer,
  Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
  Logger.minimumLogLevel(LogLevel.Warning),
  Layer.setConfigProvider(
    ConfigProvider.fromMap(
      new Map(Object.entries(env).flatMap(([k, v]) => v === undefined ? [] : [[k, v] as const]))
    )
  )
)

// Fibers yield through setImmediate, so a long in-memory run (local mode's sync) lets the event loop
// turn and Ctrl-C interrupts it at once; the default scheduler yields to the loop only every 2048
// microtask rounds, which a sync over 20k local customers never reached before it finished.
const scheduler = Scheduler.makeBatched((runBatch) => setImmediate(runBatch))

const [node = "node", script = "ai-billing", ...given] = process.argv
const args = Argv.normalize(given)
const unknown = Argv.unknownCommand(args, Argv.tree(command.descriptor))

const shells = { bash: Completions.bash, zsh: Completions.zsh, fish: Completions.fish } as const
const shell = Object.keys(shells).find((name) =>
  args.some((a, i) => a === `--completions=${name}` || (a === "--completions" && args[i + 1] === name))
) as keyof typeof shells | undefined

if (shell !== undefined) {
  // The generator's scripts, corrected where they mishandle hyphenated names (see Completions).
  process.stdout.write(`${Effect.runSync(shells[shell])}\n`)
} else if (Option.isSome(unknown)) {
  process.stderr.write(`ai-billing: ${unknown.value}\n`)
  process.exitCode = 2
} else {
  // runMain interrupts the program on SIGINT and SIGTERM alike; the exit code says which, as a shell
  // reports a process killed by it: 128 + 2 = 130 for Ctrl-C, 128 + 15 = 143 for SIGTERM.
  let signal: "SIGINT" | "SIGTERM" = "SIGINT"
  const onTerm = () => (signal = "SIGTERM")
  process.once("SIGTERM", onTerm)
  run([node, script, ...args]).pipe(
    withPlainConsole,
    Effect.provide(MainLive),
    Effect.withScheduler(scheduler),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => {
        process.removeListener("SIGTERM", onTerm)
        if (Exit.isSuccess(exit)) return onExit(0)
        if (Cause.isInterruptedOnly(exit.cause)) return onExit(signal === "SIGTERM" ? 143 : 130)
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) {
          // A defect: nothing reported it yet.
          process.stderr.write(`ai-billing: unexpected failure: ${Cause.pretty(exit.cause).split("\n")[0]}\n`)
          return onExit(1)
        }
        onExit(exitCodeOf(failure.value))
      }
    })
  )
}
