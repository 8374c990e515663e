import { Cause } from "effect"

// Schema's tree messages become `at a.b.c: <what is wrong>`.
const oneLine = (text: string) => {
  if (!text.includes("└─")) return text.replace(/\s*\n\s*/g, " ").trim()
  const lines = text.split("\n")
  const path = lines.flatMap((l) => [...l.matchAll(/\["([^"]+)"\]/g)].map((m) => m[1]!))
  const last = (lines[lines.length - 1] ?? "").replace(/^[\s└├─│]+/, "").trim()
  return path.length === 0 ? last : `at ${path.join(".")}: ${last}`
}

const labels: Record<string, string> = {
  StripeEventDecodeError: "malformed event",
  BillingConfigError: "configuration",
  AwsConfigError: "configuration",
  StripeConfigError: "configuration",
  LocalStoreError: "local store",
  SecretsError: "configuration",
  CliError: "",
  UsageError: "",
  LocalOnlyError: "",
  StoppedEarly: ""
}

/** One line describing an error: its kind and message, never a stack. */
export const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error && typeof error._tag === "string" ? error._tag : undefined
    const message = "message" in error && typeof error.message === "string" ? error.message : undefined
    const reason = "reason" in error && typeof error.reason === "string" ? error.reason : undefined
    if (tag === "StripeEventDecodeError" && message !== undefined) {
      const e = error as { readonly eventId?: unknown; readonly eventType?: unknown }
      const which = typeof e.eventId === "string"
        ? ` ${e.eventId}${typeof e.eventType === "string" ? ` (${e.eventType})` : ""}`
        : ""
      return `malformed event${which}: ${oneLine(message)}`
    }
    if (message !== undefined) {
      const label = tag === undefined ? "" : labels[tag] ?? (reason === undefined ? tag : `${tag}(${reason})`)
      return oneLine(label === "" ? message : `${label}: ${message}`)
    }
    if (tag !== undefined) return tag
  }
  return oneLine(String(error))
}

// The AWS SDK's words when its credential chain found nothing, anywhere in an error's chain.
const noCredentials = /Could not load credentials|Unable to locate credentials|CredentialsProviderError/

/** What to do when AWS credentials are absent. */
export const CREDENTIALS_HINT =
  "no AWS credentials found: set AWS_PROFILE (after aws configure or aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for local mode use --local <dir>"

/** One line describing a cause, with the credentials hint when that is what failed. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const line = describeError(error)
  const chain = [line, ...causeChain(error)].join(" ")
  return noCredentials.test(chain) ? `${CREDENTIALS_HINT} (${line})` : line
}

/** The chain of underlying causes of an error (`cause`, `detail`), one line each, for `--log-level debug`. */
export const causeChain = (error: unknown): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 8; depth++) {
    if (typeof current !== "object" || current === null) break
    const next: unknown = "cause" in current && current.cause !== undefined
      ? current.cause
      : "detail" in current && typeof current.detail === "object"
      ? current.detail
      : undefined
    if (next === undefined || next === null) break
    const name = typeof next === "object" && "name" in next && typeof next.name === "string" ? next.name : typeof next
    const message = typeof next === "object" && "message" in next && typeof next.message === "string"
      ? next.message
      : String(next)
    lines.push(`caused by ${name}: ${oneLine(message)}`)
    current = next
  }
  return lines
}
