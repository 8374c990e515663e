// The tests spawn the built binary: build the package (and what it references) first. Then start the
// local servers the integration tests use (idempotent scripts), and afterwards stop only the servers
// this run started. A server that cannot be started fails the run: these tests never skip.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const pkg = fileURLToPath(new URL("../../", import.meta.url))
const root = fileURLToPath(new URL("../../../../", import.meta.url))

const server = (script: string, action: "start" | "stop"): string => {
  try {
    return execFileSync("bash", [`${root}scripts/servers/${script}`, action], { stdio: "pipe", encoding: "utf8" })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`could not ${action} ${script}: ${err.stderr || err.stdout || err.message}`)
  }
}

export default function setup() {
  execFileSync("npx", ["tsc", "-b", pkg], { stdio: "inherit" })
  const started = ["dynamodb-local.sh", "moto.sh", "stripe-mock.sh"].filter((script) =>
    !server(script, "start").includes("already answering")
  )
  return () => {
    for (const script of started) server(script, "stop")
  }
}
