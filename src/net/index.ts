export * from "./ip.ts";
export * from "./packet.ts";
