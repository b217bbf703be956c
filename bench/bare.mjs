// The baseline server of `npm run bench`: a bare Fastify route answering a fixed JSON body. Plain
// JavaScript run by node itself, as the server under test runs from its build.
import process from "node:process";
import Fastify from "fastify";

const body = process.env.BARE_BODY ?? "{}";
const app = Fastify();
app.get("/v1/balance", async (_req, reply) => reply.type("application/json").send(body));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
