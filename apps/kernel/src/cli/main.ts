#!/usr/bin/env node
/*
 * pcpu-kernel with every arch and both population backends built in.
 */

import { ALL_DEFINITIONS } from "../registry.js";
import { runCliMain } from "./run.js";

runCliMain(ALL_DEFINITIONS, "full");
