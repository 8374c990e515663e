/**
 * Shell completion for `ai-billing`. @effect/cli's bash generator spells hyphenated names one way in
 * its patterns (`ai__billing,env__dump`) and another in what it matches (`ai-billing`, `env-dump`),
 * and keys nested commands by a path its loop never builds: the script it writes completes nothing
 * past the first word. `fixBash` rewrites that script so that words and patterns agree.
 *
 * @since 0.2.0
 */
import { Command } from "@effect/cli"
import { Effect } from "effect"
import { command } from "./Cli.js"

/**
 * The generator's bash script with its hyphen and nesting mistakes corrected.
 *
 * @since 0.2.0
 * @category utils
 */
export const fixBash = (script: string, name: string): string => {
  const mangled = name.replace(/-/g, "__")
  return script
    .split("\n")
    .map((line) => {
      // The loop compares the typed words spelled as the patterns spell them.
      if (line.trim() === `case "\${cmd},\${i}" in`) return line.replace("${i}", "${i//-/__}")
      if (line.trim() === `",$1")`) return line.replace(`",$1")`, `",\${1//-/__}")`)
      if (line.trim() === `cmd="${name}"`) return line.replace(`"${name}"`, `"${mangled}"`)
      if (line.trim() === `${name})`) return line.replace(`${name})`, `${mangled})`)
      // `a,b,c)` is reached from `cmd=a__b` and the word `c`.
      const pattern = /^(\s*)([A-Za-z0-9_]+(?:,[A-Za-z0-9_]+){2,})\)$/.exec(line)
      if (pattern !== null) {
        const parts = pattern[2]!.split(",")
        return `${pattern[1]}${parts.slice(0, -1).join("__")},${parts[parts.length - 1]})`
      }
      return line
    })
    .join("\n")
}

/**
 * The generator's zsh script corrected: a nested group's completer is called by a name spelled with
 * hyphens (`_ai-billing__customers_commands`) but defined with them doubled
 * (`_ai__billing__customers_commands`), so nothing past the first word completed; and the script
 * only completed when loaded under its function's name, not as `_ai-billing` from `fpath`.
 *
 * @since 0.3.0
 * @category utils
 */
export const fixZsh = (script: string, name: string): string => {
  const mangle = (s: string) => s.replace(/-/g, "__")
  const called = new RegExp(`_${name.replace(/[-]/g, "\\-")}__([A-Za-z0-9_-]+)_commands`, "g")
  return script
    .replace(called, (_, path: string) => `_${mangle(name)}__${mangle(path)}_commands`)
    .replace(
      `if [ "$funcstack[1]" = "_${name}_zsh_completions" ]; then`,
      `if [ "$funcstack[1]" = "_${name}_zsh_completions" ] || [ "$funcstack[1]" = "_${name}" ]; then`
    )
}

/**
 * The bash completion script for `ai-billing`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const bash: Effect.Effect<string> = Effect.map(
  Command.getBashCompletions(command, "ai-billing"),
  (lines) => fixBash(lines.join("\n"), "ai-billing")
)

/**
 * The zsh completion script for `ai-billing`: `source <(ai-billing --completions zsh)` after
 * `compinit`, or saved as `_ai-billing` in a directory of `fpath`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const zsh: Effect.Effect<string> = Effect.map(
  Command.getZshCompletions(command, "ai-billing"),
  (lines) => fixZsh(lines.join("\n"), "ai-billing")
)

/**
 * The fish completion script for `ai-billing`, as the generator writes it (fish's conditions name
 * the words as typed, so hyphens need no correction).
 *
 * @since 0.3.0
 * @category constructors
 */
export const fish: Effect.Effect<string> = Effect.map(
  Command.getFishCompletions(command, "ai-billing"),
  (lines) => lines.join("\n")
)
