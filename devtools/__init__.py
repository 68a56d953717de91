"""Development tools: the demo data (`load_demo`) and the local Stripe double
(`stripe_double_setup`, `python -m devtools.stripe_double`).

Installed by `config.settings.local` and `config.settings.test` only; the production
settings, the package build and the Docker image leave it out, and no product module
imports it (an import-linter contract checks that)."""
