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
 * The bash completion script for `ai-billing`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const bash: Effect.Effect<string> = Effect.map(
  Command.getBashCompletions(command, "ai-billing"),
  (lines) => fixBash(lines.join("\n"), "ai-billing")
)
