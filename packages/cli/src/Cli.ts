/**
 * The `ai-billing` command tree on @effect/cli, assembled from one module per command group. Every
 * command runs the same core programs as the Lambda; only the Layers differ (AWS and Stripe, or local
 * mode's in-memory ports over a directory).
 *
 * @since 0.1.0
 */
import { Command } from "@effect/cli"
import * as Customers from "./commands/Customers.js"
import * as Demo from "./commands/Demo.js"
import * as Events from "./commands/Events.js"
import * as Infra from "./commands/Infra.js"
import * as Init from "./commands/Init.js"
import * as Local from "./commands/Local.js"
import * as Plan from "./commands/Plan.js"
import * as Serve from "./commands/Serve.js"
import * as Usage from "./commands/Usage.js"
import { root } from "./Shell.js"

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = root.pipe(Command.withSubcommands([
  Infra.envDump,
  Events.handleEvent,
  Usage.syncUsage,
  Infra.monitor,
  Infra.infra,
  Customers.command,
  Plan.command,
  Usage.reconcile,
  Events.replayEvents,
  Infra.table,
  Local.command,
  Demo.command,
  Serve.serve,
  Serve.trigger,
  Init.command
]))

/**
 * Parse the arguments and run the command.
 *
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(command, { name: "ai-billing", version: "0.1.0" })
