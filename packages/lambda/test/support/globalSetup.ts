// Builds the bundles the end-to-end test imports, and starts DynamoDB Local, moto and stripe-mock
// (idempotent); stops afterwards only the servers this run started. A server that cannot be started
// fails the run: nothing is skipped.
import { execFileSync, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
const pkg = fileURLToPath(new URL("../../", import.meta.url))

// stdout and stderr together: the scripts do not agree on where "already answering" goes.
const run = (script: string, action: "start" | "stop"): string => {
  const result = spawnSync("bash", [`${root}scripts/servers/${script}`, action], {
    encoding: "utf8",
    timeout: 15 * 60_000
  })
  const output = `${result.stdout}${result.stderr}`
  if (result.status !== 0) throw new Error(`could not ${action} ${script}: ${output || String(result.error)}`)
  return output
}

export default function setup() {
  execFileSync("npx", ["tsc", "-b", "tsconfig.json"], { cwd: pkg, stdio: "inherit" })
  execFileSync("node", ["dist/bin/bundle.js"], { cwd: pkg, stdio: "inherit" })
  const started = ["dynamodb-local.sh", "moto.sh", "stripe-mock.sh"].filter((script) =>
    !/already answering|already running/.test(run(script, "start"))
  )
  return () => {
    for (const script of started) run(script, "stop")
  }
}
