// The AWS and Stripe adapters load the AWS SDK and stripe, about a third of the CLI's code: they are
// imported when a command first needs them, so that `--help` and local mode never load them.
import { Effect } from "effect"

/** @augint-billing/adapters-aws, loaded on first use. */
export const aws = Effect.promise(() => import("@augint-billing/adapters-aws"))

/** @augint-billing/adapters-stripe, loaded on first use. */
export const stripe = Effect.promise(() => import("@augint-billing/adapters-stripe"))
