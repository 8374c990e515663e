/**
 * @augint-billing/cli: the `ai-billing` operators' CLI and its modules.
 *
 * @since 0.1.0
 */

/** The command tree. */
export * as Cli from "./Cli.js"
/** `monitor dashboard`. */
export * as Dashboard from "./Dashboard.js"
/** `env-dump`. */
export * as EnvDump from "./EnvDump.js"
/** AWS or local mode, and their Layers. */
export * as Environment from "./Environment.js"
/** `infra status`. */
export * as Infra from "./Infra.js"
/** Local mode's own operations. */
export * as Local from "./Local.js"
/** Local mode's persisted state. */
export * as LocalStore from "./LocalStore.js"
/** Printing results and progress. */
export * as Output from "./Output.js"
/** `reconcile`. */
export * as Reconcile from "./Reconcile.js"
/** `replay-events`. */
export * as Replay from "./Replay.js"
