// Spawning the installed command, with an environment free of any AWS or Stripe variable unless given.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The installed command: it runs the bundle (dist/bundle/ai-billing.mjs) that `npm run build` made. */
export const bin = fileURLToPath(new URL("../../bin/ai-billing.js", import.meta.url))
/** The program as tsc compiled it, which the command runs when there is no up-to-date bundle. */
export const compiledBin = fileURLToPath(new URL("../../dist/bin.js", import.meta.url))
/** The example events. */
export const examples = fileURLToPath(new URL("../../examples/", import.meta.url))

/** What a run printed and how it ended. */
export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const scrubbed = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (
      !/^(AWS_|STRIPE_|STACK_NAME|TABLE_NAME|METER|METERED_|FREE_USAGE|API_USAGE|AI_BILLING|DEMOTION|SETTLE|SYNC_)/
        .test(k)
    ) {
      env[k] = v
    }
  }
  return env
}

/** Run `ai-billing args` (or `entry args`) in `cwd` with `env` added to a scrubbed environment. */
export const run = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly cwd?: string; readonly entry?: string } = {}
): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.entry ?? bin, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...scrubbed(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** A fresh temporary directory. */
export const tempDir = (prefix = "ai-billing-"): string => mkdtempSync(join(tmpdir(), prefix))

/** A running `ai-billing`: the child, what it printed so far, and its end. */
export interface Running {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly done: Promise<Result>
}

/** Start `ai-billing args` as `run` does, without waiting for it. */
export const start = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly cwd?: string; readonly uid?: number } = {}
): Running => {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...scrubbed(), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid })
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<Result>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
  return { child, stderr: () => stderr, done }
}
