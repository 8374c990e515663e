// Stripe's webhook signature scheme (`t=<seconds>,v1=<hex HMAC-SHA256 of "t.payload">`), on Web Crypto
// so the testkit runs wherever `crypto.subtle` does.
const encoder = new TextEncoder()

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("")

/** The v1 signature of `payload` signed at `timestamp` (epoch seconds). */
export const sign = async (secret: string, timestamp: number, payload: string): Promise<string> => {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign"
  ])
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`)))
}

/** Parse a `Stripe-Signature` header. */
export const parseHeader = (header: string): { readonly timestamp: number; readonly v1: ReadonlyArray<string> } => {
  let timestamp = Number.NaN
  const v1: Array<string> = []
  for (const part of header.split(",")) {
    const [k, v] = part.split("=", 2)
    if (k === "t" && v !== undefined) timestamp = Number(v)
    if (k === "v1" && v !== undefined) v1.push(v)
  }
  return { timestamp, v1 }
}

/** Compare two strings in time independent of where they differ. */
export const safeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
