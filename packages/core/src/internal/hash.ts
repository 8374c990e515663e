/**
 * A short, deterministic, dependency-free hash for identifiers that must fit a length limit.
 *
 * @internal
 */

/**
 * 64-bit FNV-1a as 16 hex digits. Collisions only matter between two inputs that are otherwise in the
 * same place (the same day and total of a meter event, the same customer's idempotency key).
 */
export const fnv1a64 = (text: string): string => {
  let hash = 0xcbf29ce484222325n
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i))
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return hash.toString(16).padStart(16, "0")
}
