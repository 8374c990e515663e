/**
 * What a handled Stripe event's log lines carry: its id and type, and the decision taken (with the
 * reason when it changed nothing). Never the body.
 */
import type { Decision } from "../Policy.js"

/** Event id and type for logs, read defensively from the raw event: never the body. */
export const eventAnnotations = (raw: unknown): Record<string, string> => {
  if (typeof raw !== "object" || raw === null) return {}
  const { id, type } = raw as { readonly id?: unknown; readonly type?: unknown }
  return {
    ...(typeof id === "string" ? { eventId: id } : {}),
    ...(typeof type === "string" ? { eventType: type } : {})
  }
}

/** The decision applied; one that changes nothing (another product's invoice, say) says why. */
export const decisionAnnotations = (decision: Decision): Record<string, string> =>
  decision._tag === "NoChange" ? { decision: "NoChange", reason: decision.reason } : { decision: decision._tag }
