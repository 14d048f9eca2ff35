"""The sandbox's signing tools: its certification authority (`pki`) and the
signing agent that speaks NCALayer's protocol (`agent`, `ncalayer`). Testers
use them; the production library above (xmldsig, verify, certificates,
revocation, envelope, gost) never imports them."""
