/**
 * An in-memory `CustomerRepo` that behaves like the DynamoDB adapter where it matters: conditional
 * (versioned) writes, a lost race is a `VersionConflict`, listings are paginated streams.
 *
 * @since 0.1.0
 */
import { Customer, CustomerRepo, type Ids } from "@augint-billing/core"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { instrument, instrumentStream } from "./internal/instrument.js"
import * as MemoryState from "./MemoryState.js"

const PAGE = 1000

const conflict = (customerId: Ids.CustomerId, message: string) =>
  new CustomerRepo.VersionConflict({ customerId, message })

// Pages are read from one live iterator per listing, like a scan cursor: a record written during the
// listing is seen as written, one deleted is skipped, and each page costs its own size (re-reading the
// whole table per page made a 100k listing quadratic, seconds of the sync benchmark).
const paged = (
  records: Map<Ids.CustomerId, Customer.Customer>,
  keep: (customer: Customer.Customer) => boolean = () => true
): Stream.Stream<Customer.Customer> =>
  Stream.suspend(() => {
    const cursor = records.values()
    let next = cursor.next()
    const skip = () => {
      while (!next.done && !keep(next.value)) next = cursor.next()
    }
    return Stream.paginateChunk(undefined, () => {
      const page: Array<Customer.Customer> = []
      skip()
      while (!next.done && page.length < PAGE) {
        page.push(next.value)
        next = cursor.next()
        skip()
      }
      return [Chunk.unsafeFromArray(page), next.done ? Option.none() : Option.some(undefined)]
    })
  })

/** Build the repository over shared state. @since 0.1.0 @category constructors */
export const make: Effect.Effect<CustomerRepo.CustomerRepoService, never, MemoryState.MemoryState> = Effect.map(
  MemoryState.MemoryState,
  (state): CustomerRepo.CustomerRepoService => {
    const put = (customer: Customer.Customer) => {
      const previous = state.records.get(customer.customerId)
      if (previous !== undefined && previous.apiKeyId !== customer.apiKeyId) state.byApiKey.delete(previous.apiKeyId)
      state.records.set(customer.customerId, customer)
      state.byApiKey.set(customer.apiKeyId, customer.customerId)
      return customer
    }
    return {
      get: (customerId) =>
        instrument(state, "CustomerRepo.get", Effect.sync(() => Option.fromNullable(state.records.get(customerId)))),
      // One call whatever the number of ids (the adapter's requests of 100 keys are its own business).
      getMany: (customerIds) =>
        instrument(
          state,
          "CustomerRepo.getMany",
          Effect.sync(() => {
            const found = new Map<Ids.CustomerId, Customer.Customer>()
            for (const id of customerIds) {
              const record = state.records.get(id)
              if (record !== undefined) found.set(id, record)
            }
            return found as ReadonlyMap<Ids.CustomerId, Customer.Customer>
          })
        ),
      findByApiKey: (apiKeyId) =>
        instrument(
          state,
          "CustomerRepo.findByApiKey",
          Effect.sync(() => {
            const id = state.byApiKey.get(apiKeyId)
            return Option.fromNullable(id === undefined ? undefined : state.records.get(id))
          })
        ),
      create: (customer) =>
        instrument(
          state,
          "CustomerRepo.create",
          Effect.suspend(() => {
            if (state.records.has(customer.customerId)) {
              return Effect.fail(conflict(customer.customerId, `customer ${customer.customerId} already has a record`))
            }
            const other = state.byApiKey.get(customer.apiKeyId)
            if (other !== undefined) {
              return Effect.fail(conflict(customer.customerId, `key ${customer.apiKeyId} is linked to ${other}`))
            }
            return Effect.succeed(put({ ...customer, version: 0 }))
          })
        ),
      update: (customer) =>
        instrument(
          state,
          "CustomerRepo.update",
          Effect.suspend(() => {
            const stored = state.records.get(customer.customerId)
            if (stored === undefined || stored.version !== customer.version) {
              return Effect.fail(
                conflict(
                  customer.customerId,
                  `expected version ${customer.version}, found ${stored === undefined ? "no record" : stored.version}`
                )
              )
            }
            return Effect.succeed(put({ ...customer, version: customer.version + 1 }))
          })
        ),
      remove: (customer) =>
        instrument(
          state,
          "CustomerRepo.remove",
          Effect.suspend(() => {
            const stored = state.records.get(customer.customerId)
            if (stored === undefined || stored.version !== customer.version) {
              return Effect.fail(conflict(customer.customerId, `expected version ${customer.version}`))
            }
            state.records.delete(customer.customerId)
            state.byApiKey.delete(stored.apiKeyId)
            return Effect.void
          })
        ),
      listSyncCandidates: () =>
        instrumentStream(
          state,
          "CustomerRepo.listSyncCandidates",
          () => paged(state.records, Customer.isSyncCandidate)
        ),
      list: () => instrumentStream(state, "CustomerRepo.list", () => paged(state.records)),
      isProcessed: (eventId) =>
        instrument(state, "CustomerRepo.isProcessed", Effect.sync(() => state.processed.has(eventId))),
      markProcessed: ({ eventId, expiresAt }) =>
        instrument(state, "CustomerRepo.markProcessed", Effect.sync(() => void state.processed.set(eventId, expiresAt)))
    }
  }
)

/** `CustomerRepo` over the shared `MemoryState`. @since 0.1.0 @category layers */
export const layer: Layer.Layer<CustomerRepo.CustomerRepo, never, MemoryState.MemoryState> = Layer.effect(
  CustomerRepo.CustomerRepo,
  make
)

/** `CustomerRepo` on fresh state of its own. @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<CustomerRepo.CustomerRepo> = layer.pipe(Layer.provide(MemoryState.layer()))
