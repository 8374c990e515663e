/**
 * Starts stripe-mock before the tests (installing it on first use) and stops it afterwards if this
 * run started it. A stripe-mock that cannot be started fails the run: nothing is skipped.
 */
import { execFileSync } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const script = resolve(dirname(fileURLToPath(import.meta.url)), "../../../scripts/servers/stripe-mock.sh")

const answers = async (): Promise<boolean> => {
  try {
    const response = await fetch("http://127.0.0.1:12111/v1/customers", {
      headers: { authorization: "Bearer sk_test_123" },
      signal: AbortSignal.timeout(2000)
    })
    return response.ok
  } catch {
    return false
  }
}

export default async function setup(): Promise<() => void> {
  const wasRunning = await answers()
  execFileSync("bash", [script, "start"], { stdio: "inherit", timeout: 15 * 60_000 })
  if (!(await answers())) throw new Error(`stripe-mock is not answering on 127.0.0.1:12111 after ${script} start`)
  return () => {
    if (!wasRunning) execFileSync("bash", [script, "stop"], { stdio: "inherit" })
  }
}
