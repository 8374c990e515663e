// stripe-mock for the adapter tests (installed on first use); stops afterwards only if this run started it.
import { startServers } from "../../../scripts/servers/servers.mjs"

export default () => startServers("stripe-mock")
