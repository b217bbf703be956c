/** The server process (`npm start`); `zekron serve` runs the same. */
import { runServer, startFailed } from "./run.js";

runServer().catch(startFailed);
