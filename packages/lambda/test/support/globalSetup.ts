// Builds the bundles the end-to-end test imports, then DynamoDB Local, moto and stripe-mock;
// afterwards only the servers this run started are stopped.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { startServers } from "../../../../scripts/servers/servers.mjs"

export default () => {
  const pkg = fileURLToPath(new URL("../../", import.meta.url))
  execFileSync("npx", ["tsc", "-b", "tsconfig.json"], { cwd: pkg, stdio: "inherit" })
  execFileSync("node", ["dist/bin/bundle.js"], { cwd: pkg, stdio: "inherit" })
  return startServers("dynamodb-local", "moto", "stripe-mock")
}
