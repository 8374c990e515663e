// The tests spawn the built command: build the package (tsc -b with what it references, then the
// bundle) first. Then the local servers the integration tests use; afterwards only the servers this
// run started are stopped.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { startServers } from "../../../../scripts/servers/servers.mjs"

export default () => {
  execFileSync("npm", ["run", "--silent", "build"], {
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    stdio: "inherit"
  })
  return startServers("dynamodb-local", "moto", "stripe-mock")
}
