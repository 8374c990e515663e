/**
 * The customer table's administration: its layout (key, sparse sync index, TTL attribute), creating
 * it for local and development use, and describing it for the operator's status check. The
 * repository on it is `DynamoCustomerRepo`.
 *
 * @since 0.2.0
 */
import { CustomerRepo } from "@augint-billing/core"
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import { Config, Effect, Schedule, Schema } from "effect"
import * as AwsConfig from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { repoError } from "./internal/dynamoError.js"
import { clientConfig, send } from "./internal/sdk.js"

/**
 * Attribute names, key prefixes and index names of the table (the deployment template must match).
 *
 * @since 0.1.0
 * @category models
 */
export const TableLayout = {
  /** The table's only key attribute (string, HASH). */
  partitionKey: "pk",
  /** `pk` of a customer record: `CUSTOMER#<customerId>`. */
  customerPrefix: "CUSTOMER#",
  /** `pk` of an API-key claim: `APIKEY#<apiKeyId>`, holding `ownerId` (the customer id). */
  apiKeyPrefix: "APIKEY#",
  /** `pk` of a processed-event marker: `EVENT#<eventId>`. */
  eventPrefix: "EVENT#",
  /** What an item is: `customer`, `apikey` or `event`. */
  entityAttribute: "entity",
  /** The customer an API-key claim belongs to. */
  ownerAttribute: "ownerId",
  /** Written (`"1"`) only on records that `Customer.isSyncCandidate` holds for: the sparse index key. */
  syncAttribute: "syncCandidate",
  /** The sparse GSI of sync candidates: HASH `syncCandidate`, RANGE `pk`, projection ALL. */
  syncIndex: "bySyncCandidate",
  /** The TTL attribute (epoch seconds) of processed-event markers. */
  ttlAttribute: "expiresAt"
} as const

/**
 * Where the table is: its name and how to reach DynamoDB.
 *
 * @since 0.2.0
 * @category models
 */
export interface TableOptions {
  /** The table (`TABLE_NAME`). */
  readonly tableName: string
  /** Region, endpoint and credentials of the DynamoDB client. */
  readonly client?: AwsConfig.ClientOptions
}

/**
 * The table's options from the environment: `AWS_REGION`, `TABLE_NAME`/`STACK_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`.
 *
 * @since 0.2.0
 * @category config
 */
export const optionsConfig: Effect.Effect<TableOptions, AwsConfig.AwsConfigError> = AwsConfig.load(
  Config.all({ client: AwsConfig.clientOptions("DYNAMODB"), tableName: AwsConfig.tableName })
)

const L = TableLayout

// A scoped low-level client for one administrative program.
const adminClient = (options: TableOptions) =>
  Effect.acquireRelease(
    Effect.sync(() => new DynamoDBClient(clientConfig(options.client))),
    (c) => Effect.sync(() => c.destroy())
  )

/**
 * What `createTable` did.
 *
 * @since 0.1.0
 * @category models
 */
export type CreateTableResult = "Created" | "AlreadyExists"

const waitActive = (client: DynamoDBClient, tableName: string) =>
  send(
    (abortSignal) => client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal }),
    repoError
  ).pipe(
    Effect.flatMap((out) => {
      const table = out.Table
      const ready = table?.TableStatus === "ACTIVE" &&
        (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE")
      return ready
        ? Effect.void
        : Effect.fail(
          new CustomerRepo.CustomerRepoError({ reason: "Server", message: `table ${tableName} not ACTIVE yet` })
        )
    }),
    Effect.retry({ schedule: Schedule.spaced("250 millis"), times: 240, while: (e) => e.isTransient })
  )

/**
 * Create the table with its sparse sync index and TTL (for local and development use; production
 * tables come from the deployment template). Idempotent: an existing table only gets TTL ensured.
 *
 * @since 0.1.0
 * @category administration
 */
export const createTable = (
  options: TableOptions
): Effect.Effect<CreateTableResult, CustomerRepo.CustomerRepoError> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* adminClient(options)
    const TableName = options.tableName
    const result = yield* send(
      (abortSignal) =>
        client.send(
          new CreateTableCommand({
            TableName,
            BillingMode: "PAY_PER_REQUEST",
            AttributeDefinitions: [
              { AttributeName: L.partitionKey, AttributeType: "S" },
              { AttributeName: L.syncAttribute, AttributeType: "S" }
            ],
            KeySchema: [{ AttributeName: L.partitionKey, KeyType: "HASH" }],
            GlobalSecondaryIndexes: [
              {
                IndexName: L.syncIndex,
                KeySchema: [
                  { AttributeName: L.syncAttribute, KeyType: "HASH" },
                  { AttributeName: L.partitionKey, KeyType: "RANGE" }
                ],
                Projection: { ProjectionType: "ALL" }
              }
            ]
          }),
          { abortSignal }
        ),
      (failure, cause) =>
        failure.name === "ResourceInUseException" ? ("AlreadyExists" as const) : repoError(failure, cause)
    ).pipe(
      Effect.as<CreateTableResult>("Created"),
      Effect.catchIf((e): e is "AlreadyExists" => e === "AlreadyExists", () =>
        Effect.succeed<CreateTableResult>("AlreadyExists"))
    )
    yield* waitActive(client, TableName)
    const ttl = yield* send(
      (abortSignal) =>
        client.send(new DescribeTimeToLiveCommand({ TableName }), { abortSignal }),
      repoError
    )
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus
    if (status !== "ENABLED" && status !== "ENABLING") {
      yield* send(
        (abortSignal) =>
          client.send(
            new UpdateTimeToLiveCommand({
              TableName,
              TimeToLiveSpecification: { Enabled: true, AttributeName: L.ttlAttribute }
            }),
            { abortSignal }
          ),
        repoError
      )
    }
    return result
  })).pipe(Effect.withSpan("DynamoTable.createTable", { attributes: { tableName: options.tableName } }))

/**
 * `createTable` for the table the environment names (a CLI-usable program).
 *
 * @since 0.1.0
 * @category administration
 */
export const createTableConfig: Effect.Effect<
  CreateTableResult,
  CustomerRepo.CustomerRepoError | AwsConfig.AwsConfigError
> = Effect.flatMap(optionsConfig, createTable)

/**
 * Why `describeTable` could not describe the table. `Throttled`, `Transport` and `Server` are transient.
 *
 * @since 0.1.0
 * @category errors
 */
export const DescribeTableErrorReason = Schema.Literal("NotFound", "Throttled", "Transport", "Server", "BadRequest")

/**
 * The table could not be described: it does not exist (`NotFound`), or the request failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class DescribeTableError extends Schema.TaggedError<DescribeTableError>()("DescribeTableError", {
  reason: DescribeTableErrorReason,
  tableName: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * One key attribute of a table or index.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyElement {
  readonly attributeName: string
  readonly keyType: string
}

/**
 * A global secondary index as DynamoDB describes it.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndexDescription {
  readonly indexName: string
  /** `CREATING`, `ACTIVE`, ... */
  readonly status: string
  readonly keySchema: ReadonlyArray<KeyElement>
  /** `ALL`, `KEYS_ONLY` or `INCLUDE`; undefined when DynamoDB did not say. */
  readonly projection: string | undefined
}

/**
 * What `describeTable` found: the table's status, key, indexes and TTL setting.
 *
 * @since 0.1.0
 * @category models
 */
export interface TableDescription {
  readonly tableName: string
  /** `CREATING`, `ACTIVE`, `UPDATING`, ... */
  readonly status: string
  readonly keySchema: ReadonlyArray<KeyElement>
  readonly indexes: ReadonlyArray<IndexDescription>
  readonly ttl: {
    /** `ENABLED`, `ENABLING`, `DISABLED` or `DISABLING`. */
    readonly status: string
    /** The TTL attribute, when TTL is (being) enabled. */
    readonly attributeName: string | undefined
  }
}

const keySchema = (
  keys:
    | ReadonlyArray<{ readonly AttributeName?: string | undefined; readonly KeyType?: string | undefined }>
    | undefined
): ReadonlyArray<KeyElement> =>
  (keys ?? []).map((k) => ({ attributeName: k.AttributeName ?? "", keyType: k.KeyType ?? "" }))

/**
 * Describe the table, its indexes and its TTL setting (`DescribeTable` and `DescribeTimeToLive`, read
 * only): what an operator's status check compares with `TableLayout`. A missing table is `NotFound`.
 *
 * @since 0.1.0
 * @category administration
 */
export const describeTable = (
  options: TableOptions
): Effect.Effect<TableDescription, DescribeTableError> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* adminClient(options)
    const TableName = options.tableName
    const describeError = (failure: Classified, cause: unknown) =>
      new DescribeTableError({
        reason: failure.kind === "ConditionFailed" || failure.kind === "Conflict" ? "BadRequest" : failure.kind,
        tableName: TableName,
        message: failure.kind === "NotFound"
          ? `table ${TableName} does not exist`
          : `DynamoDB ${failure.message}`,
        cause
      })
    const out = yield* send(
      (abortSignal) => client.send(new DescribeTableCommand({ TableName }), { abortSignal }),
      describeError
    )
    const ttl = yield* send(
      (abortSignal) => client.send(new DescribeTimeToLiveCommand({ TableName }), { abortSignal }),
      describeError
    )
    const table = out.Table
    const description: TableDescription = {
      tableName: TableName,
      status: table?.TableStatus ?? "UNKNOWN",
      keySchema: keySchema(table?.KeySchema),
      indexes: (table?.GlobalSecondaryIndexes ?? []).map((i) => ({
        indexName: i.IndexName ?? "",
        status: i.IndexStatus ?? "UNKNOWN",
        keySchema: keySchema(i.KeySchema),
        projection: i.Projection?.ProjectionType
      })),
      ttl: {
        status: ttl.TimeToLiveDescription?.TimeToLiveStatus ?? "DISABLED",
        attributeName: ttl.TimeToLiveDescription?.AttributeName
      }
    }
    return description
  })).pipe(Effect.withSpan("DynamoTable.describeTable", { attributes: { tableName: options.tableName } }))

/**
 * `describeTable` for the table the environment names (a CLI-usable program).
 *
 * @since 0.1.0
 * @category administration
 */
export const describeTableConfig: Effect.Effect<
  TableDescription,
  DescribeTableError | AwsConfig.AwsConfigError
> = Effect.flatMap(optionsConfig, describeTable)
