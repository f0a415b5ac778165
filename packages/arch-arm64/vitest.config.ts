import { defineProject } from "vitest/config";
import { pcpuProject } from "../../vitest.shared.js";

export default defineProject(pcpuProject("@pcpu/arch-arm64"));
