/**
 * The command line before @effect/cli parses it: global options moved in front of the command (the
 * parser reads them only there), and a mistyped command caught with a suggestion.
 *
 * @since 0.2.0
 */
import type { CommandDescriptor } from "@effect/cli"
import { Option } from "effect"

/**
 * The global options that take a value, and those that do not.
 *
 * @since 0.2.0
 * @category constants
 */
export const GLOBAL_WITH_VALUE = ["--local", "--log-level", "--stack"] as const

/**
 * The global flags.
 *
 * @since 0.2.0
 * @category constants
 */
export const GLOBAL_FLAGS = ["--json"] as const

const withValue = (arg: string) => GLOBAL_WITH_VALUE.find((name) => arg === name || arg.startsWith(`${name}=`))

/**
 * Move the global options (`--json`, `--local <dir>`, `--stack <name>`, `--log-level <level>`, either `--x v` or
 * `--x=v`) in front of everything else, `--log-level` first; nothing after `--` is touched.
 *
 * @since 0.2.0
 * @category utils
 */
export const normalize = (args: ReadonlyArray<string>): Array<string> => {
  const global: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      rest.push(...args.slice(i))
      break
    }
    const name = withValue(arg)
    if (name !== undefined) {
      if (arg === name && i + 1 < args.length) {
        global.push(`${name}=${args[++i]!}`)
      } else global.push(arg)
    } else if ((GLOBAL_FLAGS as ReadonlyArray<string>).includes(arg)) global.push(arg)
    else rest.push(arg)
  }
  // @effect/cli reads its built-in --log-level only ahead of the root's own options.
  const logLevel = global.filter((a) => a.startsWith("--log-level"))
  return [...logLevel, ...global.filter((a) => !a.startsWith("--log-level")), ...rest]
}

/**
 * The edit distance between two words (insertions, deletions, substitutions, transpositions).
 *
 * @since 0.2.0
 * @category utils
 */
export const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidate closest to `word` (at most 2 edits, or one it starts), if any.
 *
 * @since 0.2.0
 * @category utils
 */
export const suggest = (word: string, candidates: ReadonlyArray<string>): Option.Option<string> => {
  const scored = candidates
    .map((c) => ({ c, d: c.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, c) }))
    .filter((x) => x.d <= Math.min(2, Math.max(1, Math.floor(word.length / 3))))
    .sort((x, y) => x.d - y.d)
  return Option.fromNullable(scored[0]?.c)
}

/**
 * A command's subcommands by name, recursively (a leaf has none).
 *
 * @since 0.2.0
 * @category models
 */
export interface Tree {
  readonly [name: string]: Tree
}

// The descriptor's own shape: @effect/cli's `getSubcommands` reports a nested group as its parent alone.
type Node =
  | { readonly _tag: "Standard" | "GetUserInput"; readonly name: string }
  | { readonly _tag: "Map"; readonly command: Node }
  | { readonly _tag: "Subcommands"; readonly parent: Node; readonly children: ReadonlyArray<Node> }

const nameOf = (n: Node): string =>
  n._tag === "Map" ? nameOf(n.command) : n._tag === "Subcommands" ? nameOf(n.parent) : n.name

const walk = (n: Node): Tree =>
  n._tag === "Map"
    ? walk(n.command)
    : n._tag === "Subcommands"
    ? Object.fromEntries(n.children.map((c) => [nameOf(c), walk(c)]))
    : {}

/**
 * The tree of subcommand names under a command descriptor.
 *
 * @since 0.2.0
 * @category constructors
 */
export const tree = (descriptor: CommandDescriptor.Command<unknown>): Tree => walk(descriptor as unknown as Node)

/**
 * Walk the command words of normalised `args` down `root`: the first word that names no command where
 * one is expected, as an error message with a suggestion, or none.
 *
 * @since 0.2.0
 * @category utils
 */
export const unknownCommand = (args: ReadonlyArray<string>, root: Tree): Option.Option<string> => {
  let node = root
  const path: Array<string> = []
  for (const arg of args) {
    const names = Object.keys(node)
    if (names.length === 0 || arg === "--") break
    // Global options come first (normalised, so always `--x=v`); any other option stops the walk.
    if (arg.startsWith("-")) {
      if (path.length === 0 && (withValue(arg) !== undefined || GLOBAL_FLAGS.includes(arg as "--json"))) continue
      break
    }
    const next = node[arg]
    if (next === undefined) {
      const where = path.length === 0 ? "" : ` ${path.join(" ")}`
      const hint = Option.match(suggest(arg, names), {
        onNone: () => `commands: ${names.join(", ")}`,
        onSome: (s) => `did you mean '${s}'?`
      })
      return Option.some(`unknown command 'ai-billing${where} ${arg}' (${hint}); see ai-billing${where} --help`)
    }
    path.push(arg)
    node = next
  }
  return Option.none()
}
