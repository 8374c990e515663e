// DynamoDB Local and moto for the adapter tests; stops afterwards only what this run started.
import { startServers } from "../../../../scripts/servers/servers.mjs"

export default () => startServers("dynamodb-local", "moto")
