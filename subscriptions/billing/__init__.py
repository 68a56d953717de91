"""Everything that talks to Stripe. `stripe_client` is the only importer of `stripe`."""
