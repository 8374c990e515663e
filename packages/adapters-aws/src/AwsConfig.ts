/**
 * Settings shared by the AWS adapters, read through Effect `Config`: the region, the table name and
 * optional endpoint overrides for local servers (DynamoDB Local, moto).
 *
 * @since 0.1.0
 */
import { BillingConfig } from "@augint-billing/core"
import { Config, Effect, Either, Option, Schema } from "effect"

/**
 * Invalid or missing AWS configuration; the message names the variable.
 *
 * @since 0.1.0
 * @category errors
 */
export class AwsConfigError extends Schema.TaggedError<AwsConfigError>()("AwsConfigError", {
  message: Schema.String
}) {}

/**
 * Static credentials, for local servers; production uses the SDK's default provider chain.
 *
 * @since 0.1.0
 * @category models
 */
export interface StaticCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/**
 * How to reach one AWS service.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** The AWS region; the SDK's own resolution (AWS_REGION, profile) when absent. */
  readonly region?: string
  /** An endpoint override such as `http://127.0.0.1:18000`. */
  readonly endpoint?: string
  /** Static credentials; the default provider chain when absent. */
  readonly credentials?: StaticCredentials
}

/**
 * The AWS services whose endpoints can be overridden.
 *
 * @since 0.1.0
 * @category services
 */
export type Service = "DYNAMODB" | "API_GATEWAY" | "SECRETS_MANAGER" | "EVENTBRIDGE" | "SQS"

const url = (name: string) =>
  Config.string(name).pipe(
    Config.validate({
      message: "must be an http(s) URL such as http://127.0.0.1:18000",
      validation: (s) => /^https?:\/\/[^\s/]+/.test(s)
    })
  )

/**
 * `AWS_REGION`, required: the adapters never guess a region.
 *
 * @since 0.1.0
 * @category config
 */
export const region: Config.Config<string> = Config.string("AWS_REGION").pipe(
  Config.validate({ message: "must be a region name such as eu-west-1", validation: (s) => /^[a-z0-9-]+$/.test(s) })
)

/**
 * `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (the SDK's own names), else none.
 *
 * @since 0.1.0
 * @category config
 */
export const endpoint = (service: Service): Config.Config<Option.Option<string>> =>
  Config.option(url(`AWS_ENDPOINT_URL_${service}`)).pipe(
    Config.zipWith(Config.option(url("AWS_ENDPOINT_URL")), (own, shared) => Option.orElse(own, () => shared))
  )

/**
 * Region and endpoint of one service.
 *
 * @since 0.1.0
 * @category config
 */
export const clientOptions = (service: Service): Config.Config<ClientOptions> =>
  Config.all({ region, endpoint: endpoint(service) }).pipe(
    Config.map(({ endpoint, region }) =>
      Option.match(endpoint, { onNone: () => ({ region }), onSome: (e) => ({ region, endpoint: e }) })
    )
  )

/**
 * `TABLE_NAME`, else `${STACK_NAME}-customer-links`.
 *
 * @since 0.1.0
 * @category config
 */
export const tableName: Config.Config<string> = Config.string("TABLE_NAME").pipe(
  Config.orElse(() => Config.string("STACK_NAME").pipe(Config.map((stack) => `${stack}-customer-links`))),
  Config.validate({
    message: "must be 3-255 letters, digits, _ - or . (a DynamoDB table name)",
    validation: (s) => /^[A-Za-z0-9_.-]{3,255}$/.test(s)
  })
)

/**
 * Read a `Config`, failing with one `AwsConfigError` line per problem, each naming its variable.
 *
 * @since 0.1.0
 * @category config
 */
export const load = <A>(config: Config.Config<A>): Effect.Effect<A, AwsConfigError> =>
  Effect.either(config).pipe(
    Effect.flatMap(Either.match({
      onLeft: (e) =>
        Effect.fail(
          new AwsConfigError({ message: `invalid AWS configuration: ${BillingConfig.describeConfigError(e)}` })
        ),
      onRight: Effect.succeed
    }))
  )
