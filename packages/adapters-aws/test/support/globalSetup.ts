// Starts DynamoDB Local and moto (idempotent) before any test file runs, and stops afterwards only the
// servers this run started. A server that cannot be started fails the run: these tests never skip.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../../", import.meta.url))

const run = (script: string, action: "start" | "stop"): string => {
  try {
    return execFileSync("bash", [`${root}scripts/servers/${script}`, action], { stdio: "pipe", encoding: "utf8" })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string }
    throw new Error(`could not ${action} ${script}: ${err.stderr || err.stdout || err.message}`)
  }
}

export default function setup() {
  const started = ["dynamodb-local.sh", "moto.sh"].filter((script) =>
    !run(script, "start").includes("already answering")
  )
  return () => {
    for (const script of started) run(script, "stop")
  }
}
