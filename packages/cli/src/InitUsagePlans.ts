/**
 * `init`'s steps and the AWS side of it: the free and the metered usage plans.
 *
 * @since 0.2.0
 */
import { Effect, Option, Schema } from "effect"
import type { Input } from "./Init.js"
import { aws } from "./internal/adapters.js"
import { CliError, UsageError } from "./Shell.js"

/**
 * One thing checked: found, created, updated, missing (not created without `--create`), invalid or skipped.
 *
 * @since 0.2.0
 * @category models
 */
export const Step = Schema.Struct({
  name: Schema.String,
  status: Schema.Literal("found", "created", "updated", "missing", "invalid", "skipped"),
  id: Schema.NullOr(Schema.String),
  detail: Schema.String
})
/**
 * One thing checked.
 *
 * @since 0.2.0
 * @category models
 */
export type Step = typeof Step.Type

/** A step. @since 0.2.0 @category constructors */
export const step = (name: string, status: Step["status"], id: string | null, detail: string): Step => ({
  name,
  status,
  id,
  detail
})

/** An error's message. @since 0.2.0 @category utils */
export const message = (e: unknown) =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)

/** A failure of `what` as a `CliError`. @since 0.2.0 @category utils */
export const fail = (what: string) => (e: unknown) => new CliError({ message: `${what}: ${message(e)}` })

const PLANS = [
  { name: "free", param: "FreeUsagePlanId", option: "freePlanId" },
  { name: "metered", param: "MeteredUsagePlanId", option: "meteredPlanId" }
] as const

/**
 * The AWS side: the free and the metered usage plans, validated by id or found by name (`<stack>-free`,
 * `<stack>-metered`), created with `create`.
 *
 * @since 0.2.0
 * @category flows
 */
export const checkUsagePlans = (input: Input) =>
  Effect.gen(function*() {
    const { ApiGateway } = yield* aws
    const sdk = yield* Effect.promise(() => import("@aws-sdk/client-api-gateway"))
    const { client } = yield* ApiGateway.ApiGateway.pipe(
      Effect.provide(ApiGateway.layerConfig),
      Effect.mapError((e) => new UsageError({ message: e.message }))
    )
    const steps: Array<Step> = []
    const params: Record<string, string> = {}
    const all: Array<{ readonly id?: string | undefined; readonly name?: string | undefined }> = []
    let position: string | undefined
    do {
      const page = yield* Effect.tryPromise(() => client.send(new sdk.GetUsagePlansCommand({ limit: 500, position })))
        .pipe(Effect.mapError(fail("cannot list usage plans")))
      all.push(...(page.items ?? []))
      position = page.position
    } while (position !== undefined)
    for (const plan of PLANS) {
      const name = `${input.stackName}-${plan.name}`
      const given = input[plan.option]
      if (Option.isSome(given)) {
        const found = all.find((p) => p.id === given.value)
        if (found === undefined) {
          steps.push(step(`usage plan ${plan.name}`, "invalid", given.value, "no usage plan has this id"))
        } else {
          params[plan.param] = given.value
          steps.push(step(`usage plan ${plan.name}`, "found", given.value, found.name ?? ""))
        }
        continue
      }
      const byName = all.find((p) => p.name === name)
      if (byName?.id !== undefined) {
        params[plan.param] = byName.id
        steps.push(step(`usage plan ${plan.name}`, "found", byName.id, name))
      } else if (input.create) {
        const [apiId, stage] = Option.getOrElse(Option.map(input.apiStage, (s) => s.split(":")), () => [])
        const created = yield* Effect.tryPromise(() =>
          client.send(
            new sdk.CreateUsagePlanCommand({
              name,
              description: `augint-billing ${plan.name} plan`,
              ...(plan.name === "free" ? { quota: { limit: input.freeQuota, period: "MONTH" } } : {}),
              ...(apiId !== undefined && stage !== undefined ? { apiStages: [{ apiId, stage }] } : {})
            })
          )
        ).pipe(Effect.mapError(fail(`cannot create the ${plan.name} usage plan`)))
        params[plan.param] = created.id ?? ""
        steps.push(step(`usage plan ${plan.name}`, "created", created.id ?? null, name))
      } else {
        steps.push(step(`usage plan ${plan.name}`, "missing", null, `no usage plan named ${name}`))
      }
    }
    return { steps, params }
  })
