"""hvac (Debian's python3-hvac) reading through the vault-irsa sidecar as an app would: VAULT_ADDR points at
the sidecar, the token comes from VAULT_IRSA_TOKEN_FILE. Prints one JSON object: what each call returned or
the name of the exception it raised. The test asserts on it."""
import json
import os

import hvac

addr = os.environ["VAULT_ADDR"]
with open(os.environ["VAULT_IRSA_TOKEN_FILE"]) as f:
    token = f.read()


def raised(fn):
    try:
        fn()
    except Exception as e:  # the class is the answer
        return type(e).__name__
    return None


client = hvac.Client(url=addr, token=token)
wrong = hvac.Client(url=addr, token="not-the-request-token")
out = {
    "authenticated": client.is_authenticated(),
    "kv2": client.secrets.kv.v2.read_secret_version(path="my-app", mount_point="secret"),
    "kv2_version": client.secrets.kv.v2.read_secret_version(path="my-app", mount_point="secret", version=1),
    "kv1": client.secrets.kv.v1.read_secret(path="app", mount_point="kv1"),
    "dynamic_1": client.read("database/creds/app"),
    "dynamic_2": client.read("database/creds/app"),
    "renew_self": client.auth.token.renew_self(),
    "health": client.sys.read_health_status(method="GET"),
    "undeclared": raised(lambda: client.secrets.kv.v2.read_secret_version(path="not-declared", mount_point="secret")),
    "undeclared_read": raised(lambda: client.read("sys/mounts")),
    "other_version": raised(lambda: client.secrets.kv.v2.read_secret_version(path="my-app", mount_point="secret", version=99)),
    "write": raised(lambda: client.secrets.kv.v2.create_or_update_secret(path="my-app", secret={"x": "y"}, mount_point="secret")),
    "wrong_token": raised(lambda: wrong.secrets.kv.v2.read_secret_version(path="my-app", mount_point="secret")),
    "wrong_token_dynamic": raised(lambda: wrong.read("database/creds/app")),
    "wrong_authenticated": wrong.is_authenticated(),
}
print(json.dumps(out))
