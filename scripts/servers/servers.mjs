// The local servers for vitest global setups: start the named ones (each script is idempotent and
// installs what it needs), and return a teardown that stops only those this run started. A server
// that cannot be started throws, so the run fails: the integration tests never skip.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const dir = fileURLToPath(new URL(".", import.meta.url))

const run = (name, action) => {
  const result = spawnSync("bash", [`${dir}${name}.sh`, action], { encoding: "utf8", timeout: 15 * 60_000 })
  // stdout and stderr together: the scripts do not all print to the same one.
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`
  if (result.status !== 0) throw new Error(`could not ${action} ${name}: ${output || String(result.error)}`)
  return output
}

/** Start `names` (e.g. "stripe-mock", "dynamodb-local", "moto"); returns the teardown. */
export const startServers = (...names) => {
  const started = names.filter((name) => !/already answering|already running/.test(run(name, "start")))
  return () => {
    for (const name of started.reverse()) run(name, "stop")
  }
}
