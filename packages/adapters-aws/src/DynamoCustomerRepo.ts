/**
 * The `CustomerRepo` port on one DynamoDB table: customer records, an API-key claim per record that
 * keeps keys unique and finds a customer by key with a consistent read, a sparse index of sync
 * candidates, and processed-event markers that expire through DynamoDB TTL.
 *
 * @since 0.1.0
 */
import type { Customer } from "@augint-billing/core"
import { CustomerRepo, type Ids, Retry } from "@augint-billing/core"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput
} from "@aws-sdk/lib-dynamodb"
import { Chunk, Clock, Effect, Layer, Option, type Scope, Stream } from "effect"
import * as AwsConfig from "./AwsConfig.js"
import * as DynamoTable from "./DynamoTable.js"
import { batchGet } from "./internal/batchGet.js"
import { apiKeyKey, customerKey, eventKey, fromItem, invalid, toItem } from "./internal/customerItem.js"
import { isLost, repoError, writeError } from "./internal/dynamoError.js"
import { clientConfig, send } from "./internal/sdk.js"

/**
 * How the repository reaches its table.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends DynamoTable.TableOptions {
  /** Items per page of `list` and `listSyncCandidates` (DynamoDB's `Limit`), default 500. */
  readonly pageSize?: number
}

const L = DynamoTable.TableLayout

const conflict = (customerId: Ids.CustomerId, message: string) =>
  new CustomerRepo.VersionConflict({ customerId, message })

/**
 * Build the repository over a document client (the caller owns the client).
 *
 * @since 0.1.0
 * @category constructors
 */
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

  // As consistent as `get`; ids deduplicated (a key twice in one request is a ValidationException).
  const getMany = (customerIds: ReadonlyArray<Ids.CustomerId>) =>
    batchGet(
      TableName,
      [...new Set(customerIds)].map(customerKey),
      (Keys, abortSignal) =>
        client.send(new BatchGetCommand({ RequestItems: { [TableName]: { Keys, ConsistentRead: true } } }), {
          abortSignal
        })
    ).pipe(
      Effect.flatMap((items) => Effect.forEach(items, fromItem)),
      Effect.map((found): ReadonlyMap<Ids.CustomerId, Customer.Customer> =>
        new Map(found.map((c) => [c.customerId, c]))
      ),
      Effect.withSpan("DynamoCustomerRepo.getMany")
    )

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

  return { get, getMany, findByApiKey, create, update, remove, listSyncCandidates, list, isProcessed, markProcessed }
}

/**
 * A scoped DynamoDB document client: undefined fields are dropped, one attempt per call.
 *
 * @since 0.1.0
 * @category constructors
 */
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

/**
 * `CustomerRepo` on DynamoDB with explicit options; the Layer owns its client.
 *
 * @since 0.1.0
 * @category layers
 */
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

/**
 * The repository's options from the environment: `AWS_REGION`, `TABLE_NAME`/`STACK_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`.
 *
 * @since 0.1.0
 * @category config
 */
export const optionsConfig: Effect.Effect<Options, AwsConfig.AwsConfigError> = DynamoTable.optionsConfig

/** `CustomerRepo` on DynamoDB configured from the environment. @since 0.1.0 @category layers */
export const layerConfig: Layer.Layer<CustomerRepo.CustomerRepo, AwsConfig.AwsConfigError> = Layer.unwrapEffect(
  Effect.map(optionsConfig, layer)
)

/** The table's layout, now in `DynamoTable`. @deprecated Use `DynamoTable.TableLayout`. @since 0.1.0 @category models */
export const TableLayout = DynamoTable.TableLayout

/** Create the table, now in `DynamoTable`. @deprecated Use `DynamoTable.createTable`. @since 0.1.0 @category administration */
export const createTable = DynamoTable.createTable

/**
 * Describe the table the environment names, now in `DynamoTable`.
 * @deprecated Use `DynamoTable.describeTableConfig`. @since 0.1.0 @category administration
 */
export const describeTableConfig = DynamoTable.describeTableConfig
