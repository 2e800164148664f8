import { resolve } from "node:path";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Pages run under `script-src 'self'`: no inline module preload polyfill, no data: URLs.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // hls.js (about 180 KB gzipped) is one chunk, loaded only with the player.
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      input: { participant: resolve(root, "participant.html") },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
