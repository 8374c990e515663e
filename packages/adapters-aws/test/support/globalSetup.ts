// Starts DynamoDB Local and moto (idempotent) before any test file runs. A server that cannot be
// started fails the run: these tests never skip.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../../", import.meta.url))

const start = (script: string) => {
  try {
    execFileSync("bash", [`${root}scripts/servers/${script}`, "start"], { stdio: "pipe", encoding: "utf8" })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`could not start ${script}: ${err.stderr || err.stdout || err.message}`)
  }
}

export default function setup() {
  start("dynamodb-local.sh")
  start("moto.sh")
}
