import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // test/clients holds the seed documents' examples verbatim.
  { ignores: ["dist", "data", "node_modules", "coverage", "test/clients"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // TypeScript itself checks for undefined names.
  { files: ["**/*.ts"], rules: { "no-undef": "off" } },
  { files: ["test/**/*.ts"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
);
