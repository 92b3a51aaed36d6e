"""The SOPS file format with age keys (issue 17): what `sops --encrypt --age` writes and
Flux's kustomize-controller decrypts, read and written without the `sops` binary.

`values` is the value cipher (`ENC[AES256_GCM,…]`), `tree` the walk that encrypts the
values the file's rules select and hashes every value into the MAC, `metadata` the `sops:`
block, `agekeys` the data key wrapped for age recipients (through `pyrage`) and the
identity files that unwrap it, `document` the whole of one document both ways, `files` one
document as YAML or JSON text, `creation` the `.sops.yaml` creation rules a new file gets.
Checked against getsops/sops (aes/cipher.go, sops.go, stores/stores.go, config/config.go)
and, in the tests, against the real `sops` 3.11 binary, Mozilla's original Python sops and
Debian's `age`. Callers: `reconcile.decrypt` (render time),
`app.cmd_secrets` (`conveyor secrets encrypt|decrypt`) and `app.seed` (the demo's Secret).
No business logic: which key an app uses is the reconciler's question.
"""
