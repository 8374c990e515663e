/**
 * The `CustomerRepo` port on one DynamoDB table: customer records, an API-key claim per record that
 * keeps keys unique and finds a customer by key with a consistent read, a sparse index of sync
 * candidates, and processed-event markers that expire through DynamoDB TTL.
 *
 * @since 0.1.0
 */
import { Customer, CustomerRepo, type Ids, Retry } from "@augint-billing/core"
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput
} from "@aws-sdk/lib-dynamodb"
import { Chunk, Clock, Config, Effect, Layer, Option, Schedule, Schema, type Scope, Stream } from "effect"
import * as AwsConfig from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { clientConfig, send } from "./internal/sdk.js"

/** Attribute names, key prefixes and index names of the table (the deployment template must match). */
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

/** How the repository reaches its table. */
export interface Options {
  /** The table (`TABLE_NAME`). */
  readonly tableName: string
  /** Region, endpoint and credentials of the DynamoDB client. */
  readonly client?: AwsConfig.ClientOptions
  /** Items per page of `list` and `listSyncCandidates` (DynamoDB's `Limit`), default 500. */
  readonly pageSize?: number
}

const L = TableLayout
const customerKey = (customerId: string) => ({ [L.partitionKey]: `${L.customerPrefix}${customerId}` })
const apiKeyKey = (apiKeyId: string) => ({ [L.partitionKey]: `${L.apiKeyPrefix}${apiKeyId}` })
const eventKey = (eventId: string) => ({ [L.partitionKey]: `${L.eventPrefix}${eventId}` })

const repoError = (failure: Classified, cause: unknown) =>
  new CustomerRepo.CustomerRepoError({
    reason: failure.kind === "Throttled" || failure.kind === "Transport" || failure.kind === "Server"
      ? failure.kind
      : "Invalid",
    message: `DynamoDB ${failure.message}`,
    cause
  })

const conflict = (customerId: Ids.CustomerId, message: string) =>
  new CustomerRepo.VersionConflict({ customerId, message })

// A conditional write that lost surfaces as `Conflict`, everything else as the repository's error.
type WriteFailure = { readonly _tag: "Lost"; readonly failure: Classified } | CustomerRepo.CustomerRepoError
const isLost = (e: WriteFailure): e is Extract<WriteFailure, { _tag: "Lost" }> => e._tag === "Lost"
const writeError = (failure: Classified, cause: unknown): WriteFailure =>
  failure.kind === "ConditionFailed" ||
    (failure.name === "TransactionCanceledException" &&
      /ConditionalCheckFailed|TransactionConflict/.test(failure.message))
    ? { _tag: "Lost", failure }
    : repoError(failure, cause)

const encodeCustomer = Schema.encode(Customer.Customer)
const decodeCustomer = Schema.decodeUnknown(Customer.Customer)

const invalid = (message: string, cause?: unknown) =>
  new CustomerRepo.CustomerRepoError({ reason: "Invalid", message, ...(cause === undefined ? {} : { cause }) })

/** The stored form of a record: the encoded customer plus key and index attributes. */
const toItem = (customer: Customer.Customer): Effect.Effect<Record<string, unknown>, CustomerRepo.CustomerRepoError> =>
  encodeCustomer(customer).pipe(
    Effect.mapError((e) => invalid(`customer ${customer.customerId} does not encode: ${e.message}`, e)),
    Effect.map((encoded) => ({
      ...encoded,
      ...customerKey(customer.customerId),
      [L.entityAttribute]: "customer",
      ...(Customer.isSyncCandidate(customer) ? { [L.syncAttribute]: "1" } : {})
    }))
  )

/** A stored item decoded with the schema: a malformed record is an `Invalid` error, never trusted. */
const fromItem = (item: Record<string, unknown>): Effect.Effect<Customer.Customer, CustomerRepo.CustomerRepoError> =>
  decodeCustomer(item).pipe(
    Effect.mapError((e) => invalid(`stored record ${String(item[L.partitionKey])} is malformed: ${e.message}`, e))
  )

/** Build the repository over a document client (the caller owns the client). */
export const make = (
  options: { readonly client: DynamoDBDocumentClient; readonly tableName: string; readonly pageSize?: number }
): CustomerRepo.CustomerRepoService => {
  const { client, tableName } = options
  const pageSize = options.pageSize ?? 500
  const TableName = tableName

  const getItem = (key: Record<string, unknown>) =>
    send(
      (abortSignal) => client.send(new GetCommand({ TableName, Key: key, ConsistentRead: true }), { abortSignal }),
      repoError
    ).pipe(Effect.map((out) => Option.fromNullable(out.Item)))

  const get = (customerId: Ids.CustomerId) =>
    getItem(customerKey(customerId)).pipe(Effect.flatMap(Option.match({
      onNone: () => Effect.succeedNone,
      onSome: (item) => Effect.asSome(fromItem(item))
    })))

  const findByApiKey = (apiKeyId: Ids.ApiKeyId) =>
    getItem(apiKeyKey(apiKeyId)).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (claim) => {
          const owner = claim[L.ownerAttribute]
          return typeof owner === "string"
            ? get(owner as Ids.CustomerId).pipe(
              // A claim whose record was replaced by one with another key is stale: not a match.
              Effect.map(Option.filter((c) => c.apiKeyId === apiKeyId))
            )
            : Effect.fail(invalid(`API-key claim ${apiKeyId} has no ${L.ownerAttribute}`))
        }
      })),
      Effect.withSpan("DynamoCustomerRepo.findByApiKey")
    )

  const claim = (apiKeyId: string, customerId: string) => ({
    ...apiKeyKey(apiKeyId),
    [L.entityAttribute]: "apikey",
    [L.ownerAttribute]: customerId
  })

  // The key claim, written new (`attribute_not_exists`) or over a claim this customer already holds.
  const claimPut = (apiKeyId: string, customerId: Ids.CustomerId, takeover: boolean) => ({
    Put: {
      TableName,
      Item: claim(apiKeyId, customerId),
      ...(takeover
        ? {
          ConditionExpression: "attribute_not_exists(#pk) OR #o = :me",
          ExpressionAttributeNames: { "#pk": L.partitionKey, "#o": L.ownerAttribute },
          ExpressionAttributeValues: { ":me": customerId }
        }
        : { ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: { "#pk": L.partitionKey } })
    }
  })

  // Release a key claim unless another customer holds it.
  const claimDelete = (apiKeyId: string, customerId: Ids.CustomerId) => ({
    Delete: {
      TableName,
      Key: apiKeyKey(apiKeyId),
      ConditionExpression: "attribute_not_exists(#pk) OR #o = :me",
      ExpressionAttributeNames: { "#pk": L.partitionKey, "#o": L.ownerAttribute },
      ExpressionAttributeValues: { ":me": customerId }
    }
  })

  // One all-or-nothing write; a lost condition is a VersionConflict explained by `explain`.
  const transact = (
    customerId: Ids.CustomerId,
    items: NonNullable<TransactWriteCommandInput["TransactItems"]>,
    explain: (reason: string) => string
  ) =>
    send(
      (abortSignal) => client.send(new TransactWriteCommand({ TransactItems: items }), { abortSignal }),
      writeError
    ).pipe(
      Effect.asVoid,
      Effect.catchIf(isLost, (e) => Effect.fail(conflict(customerId, explain(e.failure.message))))
    )

  const create = (input: Customer.Customer) =>
    Effect.gen(function*() {
      const customer: Customer.Customer = { ...input, version: 0 }
      const item = yield* toItem(customer)
      yield* transact(
        customer.customerId,
        [
          {
            Put: {
              TableName,
              Item: item,
              ConditionExpression: "attribute_not_exists(#pk)",
              ExpressionAttributeNames: { "#pk": L.partitionKey }
            }
          },
          claimPut(customer.apiKeyId, customer.customerId, false)
        ],
        (reason) =>
          `customer ${customer.customerId} already has a record, or key ${customer.apiKeyId} is linked to another customer (${reason})`
      )
      return customer
    }).pipe(Effect.withSpan("DynamoCustomerRepo.create"))

  const update = (input: Customer.Customer) =>
    Effect.gen(function*() {
      const expected = input.version
      const next: Customer.Customer = { ...input, version: expected + 1 }
      const item = yield* toItem(next)
      // The common case (same key): one conditional put, no transaction.
      const lost = yield* send(
        (abortSignal) =>
          client.send(
            new PutCommand({
              TableName,
              Item: item,
              ConditionExpression: "#v = :expected AND #k = :key",
              ExpressionAttributeNames: { "#v": "version", "#k": "apiKeyId" },
              ExpressionAttributeValues: { ":expected": expected, ":key": next.apiKeyId }
            }),
            { abortSignal }
          ),
        writeError
      ).pipe(
        Effect.as(false),
        Effect.catchIf(isLost, () => Effect.succeed(true))
      )
      if (!lost) return next
      const stored = yield* get(input.customerId)
      if (Option.isNone(stored) || stored.value.version !== expected) {
        return yield* conflict(
          input.customerId,
          `expected version ${expected}, found ${Option.isNone(stored) ? "no record" : stored.value.version}`
        )
      }
      // Same version, other key: move the key claim with the record, all or nothing.
      const oldKey = stored.value.apiKeyId
      yield* transact(
        input.customerId,
        [
          {
            Put: {
              TableName,
              Item: item,
              ConditionExpression: "#v = :expected AND #k = :old",
              ExpressionAttributeNames: { "#v": "version", "#k": "apiKeyId" },
              ExpressionAttributeValues: { ":expected": expected, ":old": oldKey }
            }
          },
          claimDelete(oldKey, input.customerId),
          claimPut(next.apiKeyId, next.customerId, true)
        ],
        (reason) => `version ${expected} changed, or key ${next.apiKeyId} is linked to another customer (${reason})`
      )
      return next
    }).pipe(Effect.withSpan("DynamoCustomerRepo.update"))

  const remove = (customer: Customer.Customer) =>
    transact(
      customer.customerId,
      [
        {
          Delete: {
            TableName,
            Key: customerKey(customer.customerId),
            ConditionExpression: "#v = :expected",
            ExpressionAttributeNames: { "#v": "version" },
            ExpressionAttributeValues: { ":expected": customer.version }
          }
        },
        // The record at the expected version holds this key, so this claim is its own.
        claimDelete(customer.apiKeyId, customer.customerId)
      ],
      (reason) => `expected version ${customer.version} of ${customer.customerId} (${reason})`
    ).pipe(Effect.withSpan("DynamoCustomerRepo.remove"))

  type Page = {
    readonly Items?: ReadonlyArray<Record<string, unknown>> | undefined
    readonly LastEvaluatedKey?: Record<string, unknown> | undefined
  }
  const paginate = (
    fetch: (start: Record<string, unknown> | undefined, abortSignal: AbortSignal) => Promise<Page>
  ): Stream.Stream<Customer.Customer, CustomerRepo.CustomerRepoError> =>
    Stream.paginateChunkEffect(
      undefined as Record<string, unknown> | undefined,
      (start) =>
        send((abortSignal) => fetch(start, abortSignal), repoError).pipe(
          // A stream cannot be retried from where it failed by its consumer: each page is, here, on
          // core's repository schedule, so one throttled page does not end a sync of every candidate.
          Retry.repoBulk,
          Effect.flatMap((page) =>
            Effect.forEach(page.Items ?? [], fromItem).pipe(
              Effect.map((customers) =>
                [
                  Chunk.unsafeFromArray(customers),
                  Option.fromNullable(page.LastEvaluatedKey) as Option.Option<Record<string, unknown> | undefined>
                ] as const
              )
            )
          )
        )
    )

  const listSyncCandidates = () =>
    paginate((start, abortSignal) =>
      client.send(
        new QueryCommand({
          TableName,
          IndexName: L.syncIndex,
          KeyConditionExpression: "#s = :one",
          ExpressionAttributeNames: { "#s": L.syncAttribute },
          ExpressionAttributeValues: { ":one": "1" },
          Limit: pageSize,
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        }),
        { abortSignal }
      )
    )

  const list = () =>
    paginate((start, abortSignal) =>
      client.send(
        new ScanCommand({
          TableName,
          FilterExpression: "#e = :customer",
          ExpressionAttributeNames: { "#e": L.entityAttribute },
          ExpressionAttributeValues: { ":customer": "customer" },
          Limit: pageSize,
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        }),
        { abortSignal }
      )
    )

  const isProcessed = (eventId: Ids.EventId) =>
    Effect.gen(function*() {
      const marker = yield* getItem(eventKey(eventId))
      if (Option.isNone(marker)) return false
      const expiresAt = marker.value[L.ttlAttribute]
      // TTL deletes expired items up to a few days late: an expired marker no longer counts.
      const now = yield* Clock.currentTimeMillis
      return typeof expiresAt !== "number" || expiresAt * 1000 > now
    })

  const markProcessed = (input: { readonly eventId: Ids.EventId; readonly expiresAt: number }) =>
    Number.isFinite(input.expiresAt)
      ? send(
        (abortSignal) =>
          client.send(
            new PutCommand({
              TableName,
              Item: {
                ...eventKey(input.eventId),
                [L.entityAttribute]: "event",
                [L.ttlAttribute]: Math.ceil(input.expiresAt)
              }
            }),
            { abortSignal }
          ),
        repoError
      ).pipe(Effect.asVoid)
      : Effect.fail(invalid(`expiresAt of ${input.eventId} must be epoch seconds, got ${input.expiresAt}`))

  return { get, findByApiKey, create, update, remove, listSyncCandidates, list, isProcessed, markProcessed }
}

/** A scoped DynamoDB document client: undefined fields are dropped, one attempt per call. */
export const documentClient = (
  options: AwsConfig.ClientOptions = {}
): Effect.Effect<DynamoDBDocumentClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(options)), {
        marshallOptions: { removeUndefinedValues: true }
      })
    ),
    (client) => Effect.sync(() => client.destroy())
  )

/** `CustomerRepo` on DynamoDB with explicit options; the Layer owns its client. */
export const layer = (options: Options): Layer.Layer<CustomerRepo.CustomerRepo> =>
  Layer.scoped(
    CustomerRepo.CustomerRepo,
    Effect.map(
      documentClient(options.client),
      (client) =>
        make({
          client,
          tableName: options.tableName,
          ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize })
        })
    )
  )

/** The repository's options from the environment: `AWS_REGION`, `TABLE_NAME`/`STACK_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`. */
export const optionsConfig: Effect.Effect<Options, AwsConfig.AwsConfigError> = AwsConfig.load(
  Config.all({ client: AwsConfig.clientOptions("DYNAMODB"), tableName: AwsConfig.tableName })
)

/** `CustomerRepo` on DynamoDB configured from the environment. */
export const layerConfig: Layer.Layer<CustomerRepo.CustomerRepo, AwsConfig.AwsConfigError> = Layer.unwrapEffect(
  Effect.map(optionsConfig, layer)
)

/** What `createTable` did. */
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
 */
export const createTable = (
  options: { readonly tableName: string; readonly client?: AwsConfig.ClientOptions }
): Effect.Effect<CreateTableResult, CustomerRepo.CustomerRepoError> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new DynamoDBClient(clientConfig(options.client))),
      (c) => Effect.sync(() => c.destroy())
    )
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
  })).pipe(Effect.withSpan("DynamoCustomerRepo.createTable", { attributes: { tableName: options.tableName } }))

/** `createTable` for the table the environment names (a CLI-usable program). */
export const createTableConfig: Effect.Effect<
  CreateTableResult,
  CustomerRepo.CustomerRepoError | AwsConfig.AwsConfigError
> = Effect.flatMap(optionsConfig, createTable)

/** Why `describeTable` could not describe the table. `Throttled`, `Transport` and `Server` are transient. */
export const DescribeTableErrorReason = Schema.Literal("NotFound", "Throttled", "Transport", "Server", "BadRequest")

/** The table could not be described: it does not exist (`NotFound`), or the request failed. */
export class DescribeTableError extends Schema.TaggedError<DescribeTableError>()("DescribeTableError", {
  reason: DescribeTableErrorReason,
  tableName: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** One key attribute of a table or index. */
export interface KeyElement {
  readonly attributeName: string
  readonly keyType: string
}

/** A global secondary index as DynamoDB describes it. */
export interface IndexDescription {
  readonly indexName: string
  /** `CREATING`, `ACTIVE`, ... */
  readonly status: string
  readonly keySchema: ReadonlyArray<KeyElement>
  /** `ALL`, `KEYS_ONLY` or `INCLUDE`; undefined when DynamoDB did not say. */
  readonly projection: string | undefined
}

/** What `describeTable` found: the table's status, key, indexes and TTL setting. */
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
 */
export const describeTable = (
  options: { readonly tableName: string; readonly client?: AwsConfig.ClientOptions }
): Effect.Effect<TableDescription, DescribeTableError> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new DynamoDBClient(clientConfig(options.client))),
      (c) => Effect.sync(() => c.destroy())
    )
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
  })).pipe(Effect.withSpan("DynamoCustomerRepo.describeTable", { attributes: { tableName: options.tableName } }))

/** `describeTable` for the table the environment names (a CLI-usable program). */
export const describeTableConfig: Effect.Effect<
  TableDescription,
  DescribeTableError | AwsConfig.AwsConfigError
> = Effect.flatMap(optionsConfig, describeTable)
