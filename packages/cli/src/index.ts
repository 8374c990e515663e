/**
 * @augint-billing/cli: the `ai-billing` operators' CLI and its modules.
 *
 * @since 0.1.0
 */

/** The command line before parsing: global options anywhere, did-you-mean. @since 0.2.0 @category modules */
export * as Argv from "./Argv.js"
/** The command tree. @since 0.1.0 @category modules */
export * as Cli from "./Cli.js"
/** Shell completion scripts. @since 0.2.0 @category modules */
export * as Completions from "./Completions.js"
/** Customer links: list, show, link, unlink. @since 0.2.0 @category modules */
export * as Customers from "./Customers.js"
/** `monitor dashboard`. @since 0.1.0 @category modules */
export * as Dashboard from "./Dashboard.js"
/** `env-dump`. @since 0.1.0 @category modules */
export * as EnvDump from "./EnvDump.js"
/** AWS or local mode, and their Layers. @since 0.1.0 @category modules */
export * as Environment from "./Environment.js"
/** Events from a file or made up for a plan change, through `handleEvent`. @since 0.2.0 @category modules */
export * as Events from "./Events.js"
/** `infra status` and `table create`. @since 0.1.0 @category modules */
export * as Infra from "./Infra.js"
/** Local mode's own operations. @since 0.1.0 @category modules */
export * as Local from "./Local.js"
/** Local mode's persisted state. @since 0.1.0 @category modules */
export * as LocalStore from "./LocalStore.js"
/** Printing results and progress. @since 0.1.0 @category modules */
export * as Output from "./Output.js"
/** `reconcile`. @since 0.1.0 @category modules */
export * as Reconcile from "./Reconcile.js"
/** `replay-events`. @since 0.1.0 @category modules */
export * as Replay from "./Replay.js"
/** What every command shares: global options, errors, the shell. @since 0.2.0 @category modules */
export * as Shell from "./Shell.js"
/** `--stack <name>`: the configuration from a deployed stack's outputs. @since 0.3.0 @category modules */
export * as Stack from "./Stack.js"
/** `sync-usage`. @since 0.2.0 @category modules */
export * as Sync from "./Sync.js"
