/**
 * svcsim's command line. Every command is a thin layer over src/: load, compute, print.
 * Exit codes: 0 ok, 1 a check failed, 2 bad input (one line on stderr, no stack trace).
 */
import { Command } from "commander";
import { registerStaticCommands } from "./commands/static.ts";
import { registerTraceCommand } from "./commands/trace.ts";
import { registerRunCommands } from "./commands/run.ts";
import { registerCheckCommand } from "./commands/check.ts";
import { registerSweepCommand } from "./commands/sweep.ts";

// `./sim … | head` closes stdout early: that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = new Command();
program
  .name("sim")
  .description("svcsim: a deterministic packet-level simulator of Kubernetes Service networking (kube-proxy iptables mode)")
  .showHelpAfterError("(run with --help for usage)")
  .configureOutput({ outputError: (str, write) => write(str) })
  .exitOverride((err) => {
    // commander's own usage errors (unknown option, missing argument) are bad input: exit 2.
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") process.exit(0);
    process.exit(2);
  });

registerStaticCommands(program);
registerTraceCommand(program);
registerRunCommands(program);
registerCheckCommand(program);
registerSweepCommand(program);

await program.parseAsync(process.argv);
