"""The Bicep templates (issue 17): every file parses with pycep-parser 0.5.1 (the version
checkov 3.3 reads them with), checkov finds no failed check and no parsing error and scans
the resources each file is known to hold, every suppression says why, and the templates
provision exactly the stores of the catalogue."""

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser
from pydantic import SecretStr

from devtools import infra_catalogue
from shared.config import AZURE_MARKERS, SECRETS, Process, Settings, WithheldSecret
from shared.stores import COSMOS_CONTAINERS, QUEUES

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "infra" / "bicep"
CHECKOV = ROOT / ".local" / "tools" / "checkov" / "bin" / "checkov"
# Per file: the resources it declares (pycep's tree) and those checkov has checks for and
# scanned. A file checkov cannot parse reports only a parsing error and scans nothing.
RESOURCES = {
    "main.bicep": (1, 0),
    "modules/backup.bicep": (5, 2),
    "modules/containerapps.bicep": (4, 0),
    "modules/cosmos.bicep": (4, 1),
    "modules/events.bicep": (6, 1),
    "modules/frontdoor.bicep": (5, 1),
    "modules/functions.bicep": (8, 3),
    "modules/identity.bicep": (1, 0),
    "modules/ingest.bicep": (1, 0),
    "modules/keyvault.bicep": (2, 1),
    "modules/mail.bicep": (3, 0),
    "modules/monitoring.bicep": (3, 0),
    "modules/network.bicep": (4, 2),
    "modules/rbac.bicep": (38, 0),
    "modules/registry.bicep": (2, 1),
    "modules/routes.bicep": (12, 0),
    "modules/storage.bicep": (8, 2),
    "modules/subscriptions.bicep": (5, 0),
    "modules/web.bicep": (1, 0),
}
_SKIP = re.compile(r"//\s*checkov:skip=(?P<id>[A-Z0-9_]+)(?::\s*(?P<reason>.*))?$")


def _files() -> list[str]:
    return sorted(str(path.relative_to(BICEP)) for path in BICEP.rglob("*.bicep"))


@cache
def tree(name: str) -> dict[str, Any]:
    parsed = BicepParser().parse(text=(BICEP / name).read_text())
    return dict(parsed)


@cache
def checkov() -> dict[str, Any]:
    done = subprocess.run(
        [str(CHECKOV), "-d", str(BICEP), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _checked(kind: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = checkov()["results"][kind]
    return results


def test_every_template_is_listed_and_parses() -> None:
    assert _files() == sorted(RESOURCES), "a template added or removed: list its resources"
    for name, (declared, _) in RESOURCES.items():
        assert len(tree(name)["resources"]) == declared, name


def test_checkov_passes_every_file_with_no_parsing_error_and_the_resources_it_holds() -> None:
    summary = checkov()["summary"]
    assert summary["parsing_errors"] == 0, checkov()["results"].get("parsing_errors")
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in _checked("failed_checks")]
    assert failed == []
    scanned: dict[str, set[str]] = {}
    for kind in ("passed_checks", "failed_checks", "skipped_checks"):
        for check in _checked(kind):
            scanned.setdefault(check["file_path"].lstrip("/"), set()).add(check["resource"])
    assert {name: len(scanned.get(name, ())) for name in RESOURCES} == {
        name: counts[1] for name, counts in RESOURCES.items()
    }
    assert summary["resource_count"] >= sum(counts[1] for counts in RESOURCES.values())


def test_every_suppression_says_why_and_suppresses_a_check_that_applies() -> None:
    skipped = {(c["file_path"].lstrip("/"), c["check_id"]) for c in _checked("skipped_checks")}
    written = set()
    for name in RESOURCES:
        for line in (BICEP / name).read_text().splitlines():
            found = _SKIP.search(line.strip())
            if found:
                assert (found.group("reason") or "").strip(), f"{name}: {line.strip()}"
                written.add((name, found.group("id")))
    assert written == skipped


def test_the_templates_catalogue_is_rendered_from_the_store_catalogue() -> None:
    assert (BICEP / "catalogue.json").read_text() == infra_catalogue.text(), (
        "run python -m devtools.infra_catalogue --write"
    )


def _loop(resource: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The array a resource loops over (`catalogue.<name>`) and the body of one item."""
    config = resource["config"]
    operands = config["loop_type"]["detail"]["array_name"]["operator"]["operands"]
    assert operands["operand_1"] == "catalogue"
    return operands["operand_2"], config["config"]


def _item_field(value: dict[str, Any]) -> str:
    operands = value["operator"]["operands"]
    return str(operands["operand_2"])


def test_cosmos_provisions_every_catalogued_container_with_its_partition_key_and_ttl() -> None:
    resources = tree("modules/cosmos.bicep")["resources"]
    over, body = _loop(resources["containers"])
    assert over == "cosmosContainers"
    assert _item_field(body["name"]) == "name"
    assert _item_field(body["properties"]["resource"]) == "resource"
    chosen = body["properties"]["options"]["autoscaleSettings"]["maxThroughput"]["operator"]
    assert chosen["operands"]["false_value"] == "maxThroughput"
    assert chosen["operands"]["true_value"]["operator"]["operands"]["operand_1"] == (
        "throughputByContainer"
    )
    for environment in (BICEP / "environments").glob("*.json"):
        sized = json.loads(environment.read_text())["parameters"].get("cosmosThroughput")
        names = {spec.name for spec in COSMOS_CONTAINERS}
        assert set(sized["value"] if sized else {}) <= names, environment.name
    provisioned = {c["name"]: c["resource"] for c in infra_catalogue.render()["cosmosContainers"]}
    assert set(provisioned) == {spec.name for spec in COSMOS_CONTAINERS}
    for spec in COSMOS_CONTAINERS:
        resource = provisioned[spec.name]
        assert resource["id"] == spec.name
        assert resource["partitionKey"] == {"paths": [spec.partition_key], "kind": "Hash"}
        assert resource.get("defaultTtl") == spec.default_ttl, spec.name


def test_storage_provisions_every_catalogued_blob_container_and_queue() -> None:
    resources = tree("modules/storage.bicep")["resources"]
    assert _loop(resources["containers"])[0] == "blobContainers"
    assert _loop(resources["queues"])[0] == "queues"
    rendered = infra_catalogue.render()
    assert rendered["queues"] == [spec.name for spec in QUEUES]
    assert {f"{q}-poison" for q in ("blob-events", "restores")} <= set(rendered["queues"])


def test_blob_events_come_from_every_consumed_container_into_the_queue_the_code_reads() -> None:
    resources = tree("modules/subscriptions.bicep")["resources"]
    subscription = resources["uploads"]["config"]["properties"]
    [subject] = subscription["filter"]["advancedFilters"]
    loop = subject["values"]["loop_type"]["detail"]["array_name"]["operator"]["operands"]
    assert loop == {"operand_1": "catalogue", "operand_2": "blobEventContainers"}
    assert subject["values"]["config"] == "/blobServices/default/containers/${container}/blobs/"
    destination = subscription["deliveryWithResourceIdentity"]["destination"]["properties"]
    assert _item_field(destination["queueName"]) == "blobEventQueue"
    rendered = infra_catalogue.render()
    assert rendered["blobEventQueue"] in rendered["queues"]
    assert rendered["malwareScanQueue"] in rendered["queues"]
    assert set(rendered["blobEventContainers"]) <= set(rendered["blobContainers"])


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_suppression_is_inside_a_resource(name: str) -> None:
    """checkov reads a skip comment only within the resource it suppresses."""
    lines = (BICEP / name).read_text().splitlines()
    depth = 0
    for line in lines:
        if _SKIP.search(line.strip()):
            assert depth > 0, f"{name}: {line.strip()}"
        depth += line.count("{") - line.count("}")


# ---- promises the templates keep ----

# Global services, each with why it may be global: none stores participant data at rest.
GLOBAL_TYPES = {
    "Microsoft.Cdn/profiles": "Front Door: the one origin at the edge; caches what the "
    "origins mark cacheable (signed segment URLs, the static build), stores nothing else",
    "Microsoft.Cdn/profiles/afdEndpoints": "the Front Door profile's endpoint",
    "Microsoft.Network/FrontDoorWebApplicationFirewallPolicies": "the WAF policy of Front Door",
    "Microsoft.Communication/communicationServices": "mail: data location Europe (checked)",
    "Microsoft.Communication/emailServices": "mail: data location Europe (checked)",
    "Microsoft.Communication/emailServices/domains": "the mail service's sender domain",
}


def _body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's properties as written, inside a loop or condition if it has one."""
    config: dict[str, Any] = resource["config"]
    while "loop_type" in config or ("condition" in config and "config" in config):
        config = config["config"]
    return config


def _every_resource() -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (name, symbol, resource["type"], _body(resource))
        for name in RESOURCES
        for symbol, resource in tree(name)["resources"].items()
        if not resource["existing"]
    ]


def _of_type(kind: str) -> list[dict[str, Any]]:
    return [body for _, _, found, body in _every_resource() if found == kind]


@pytest.mark.claim("P27")
def test_every_regional_resource_is_in_west_europe_and_only_listed_ones_are_global() -> None:
    [location] = [
        decorator["argument"]
        for decorator in tree("main.bicep")["parameters"]["location"]["decorators"]
        if decorator["type"] == "allowed"
    ]
    assert location == ["westeurope"]
    assert tree("main.bicep")["parameters"]["location"]["default"] == "westeurope"
    for module in tree("main.bicep")["modules"].values():
        params = _body(module)["params"]
        if "location" in params:
            assert params["location"] == "location", module["detail"]["path"]
    placed = 0
    for name, symbol, kind, body in _every_resource():
        if "location" not in body:
            continue  # a child resource: where its parent is
        placed += 1
        if body["location"] == "global":
            assert kind in GLOBAL_TYPES, f"{name}: {symbol} is global"
        else:
            assert body["location"] == "location", f"{name}: {symbol} names another region"
    assert placed >= 12
    for kind in (
        "Microsoft.Communication/communicationServices",
        "Microsoft.Communication/emailServices",
    ):
        for service in _of_type(kind):
            assert service["properties"]["dataLocation"] == "Europe", kind


@pytest.mark.claim("P27")
def test_no_copy_of_the_data_leaves_the_netherlands() -> None:
    """Zone-redundant storage, a Cosmos DB account in one region, no geo-replication."""
    for account in _of_type("Microsoft.Storage/storageAccounts"):
        assert account["sku"]["name"] in ("Standard_ZRS", "Standard_LRS", "Premium_ZRS")
    for account in _of_type("Microsoft.DocumentDB/databaseAccounts"):
        [region] = account["properties"]["locations"]
        assert region["locationName"] == "location"
        assert account["properties"]["enableMultipleWriteLocations"] is False


@pytest.mark.claim("P26")
def test_every_endpoint_takes_only_tls_1_2_and_plain_http_only_redirects() -> None:
    for account in _of_type("Microsoft.Storage/storageAccounts"):
        assert account["properties"]["minimumTlsVersion"] == "TLS1_2"
        assert account["properties"]["supportsHttpsTrafficOnly"] is True
    for account in _of_type("Microsoft.DocumentDB/databaseAccounts"):
        assert account["properties"]["minimalTlsVersion"] == "Tls12"
    for topic in _of_type("Microsoft.EventGrid/topics"):
        assert topic["properties"]["minimumTlsVersionAllowed"] == "1.2"
    [app] = _of_type("Microsoft.Web/sites")
    assert app["properties"]["httpsOnly"] is True
    site = app["properties"]["siteConfig"]
    assert site["minTlsVersion"] == "1.2" and site["scmMinTlsVersion"] == "1.2"
    assert site["ftpsState"] == "Disabled" and site["remoteDebuggingEnabled"] is False
    routes = _of_type("Microsoft.Cdn/profiles/afdEndpoints/routes")
    assert len(routes) == 3
    for route in routes:
        assert route["properties"]["httpsRedirect"] == "Enabled"
        assert route["properties"]["forwardingProtocol"] == "HttpsOnly"
    for origin in _of_type("Microsoft.Cdn/profiles/originGroups/origins"):
        assert origin["properties"]["enforceCertificateNameCheck"] is True


def test_the_function_app_answers_only_front_door_and_connects_by_identity() -> None:
    [app] = _of_type("Microsoft.Web/sites")
    site = app["properties"]["siteConfig"]
    assert site["ipSecurityRestrictionsDefaultAction"] == "Deny"
    [front_door] = site["ipSecurityRestrictions"]
    assert front_door["ipAddress"] == "AzureFrontDoor.Backend" and front_door["action"] == "Allow"
    headers = {key.strip("'"): value for key, value in front_door["headers"].items()}
    assert headers == {"x-azure-fdid": ["frontDoorId"]}
    settings = {entry["name"]: entry["value"] for entry in site["appSettings"]}
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["WEBCAST_FRONT_DOOR_ID"] == "frontDoorId"
    assert not any("AccountKey" in str(value) for value in settings.values())
    for name in ("WEBCAST_LOOKUP_HMAC_KEY", "WEBCAST_LIVE_INGEST_SECRET"):
        assert str(settings[name]).startswith("${secret}"), "a Key Vault reference"
    for account in _of_type("Microsoft.Storage/storageAccounts"):
        assert account["properties"]["allowSharedKeyAccess"] is False
        assert account["properties"]["allowBlobPublicAccess"] is False
        assert account["properties"]["isHnsEnabled"] is False, "the gate reads blob index tags"
    for account in _of_type("Microsoft.DocumentDB/databaseAccounts"):
        assert account["properties"]["disableLocalAuth"] is True


@pytest.mark.claim("P32")
def test_backups_are_continuous_hosting_is_zone_redundant_and_deletes_can_be_undone() -> None:
    """Within the deletion window: soft-deleted blobs and containers go after it (P22)."""
    for account in _of_type("Microsoft.DocumentDB/databaseAccounts"):
        assert account["properties"]["backupPolicy"]["type"] == "Continuous"
        [region] = account["properties"]["locations"]
        assert region["isZoneRedundant"] is True
    [plan] = _of_type("Microsoft.Web/serverfarms")
    assert plan["properties"]["zoneRedundant"] is True
    window = infra_catalogue.render()["softDeleteDays"]
    services = _of_type("Microsoft.Storage/storageAccounts/blobServices")
    assert len(services) == len(_of_type("Microsoft.Storage/storageAccounts")) == 2
    for blobs in services:
        for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
            assert blobs["properties"][policy]["enabled"] is True
            assert _item_field(blobs["properties"][policy]["days"]) == "softDeleteDays"
    assert 1 <= window <= 30
    [vault] = _of_type("Microsoft.KeyVault/vaults")
    assert vault["properties"]["enablePurgeProtection"] is True
    assert vault["properties"]["softDeleteRetentionInDays"] == 7


@pytest.mark.claim("P38")
def test_defender_scans_every_upload_and_its_results_reach_the_gate() -> None:
    [defender] = _of_type("Microsoft.Security/defenderForStorageSettings")
    scanning = defender["properties"]["malwareScanning"]
    assert defender["properties"]["isEnabled"] is True
    assert scanning["onUpload"]["isEnabled"] is True
    excluded = scanning["onUpload"]["filters"]["excludeBlobsWithPrefix"]
    loop = excluded["loop_type"]["detail"]["array_name"]["operator"]["operands"]
    assert loop == {"operand_1": "catalogue", "operand_2": "unscannedContainers"}
    assert excluded["config"] == "${container}/", "one container each, not a name prefix"
    unscanned = set(infra_catalogue.render()["unscannedContainers"])
    assert "live" in unscanned and "media" in unscanned, "segments are neither scanned nor billed"
    assert not unscanned & set(infra_catalogue.render()["scannedContainers"])
    [scans] = [
        body
        for _, symbol, kind, body in _every_resource()
        if kind == "Microsoft.EventGrid/topics/eventSubscriptions"
    ]
    queue = scans["properties"]["deliveryWithResourceIdentity"]["destination"]["properties"]
    assert _item_field(queue["queueName"]) == "malwareScanQueue"
    rendered = infra_catalogue.render()
    assert set(rendered["scannedContainers"]) <= set(rendered["blobContainers"])
    assert rendered["malwareScanQueue"] == "malware-scans"


@pytest.mark.claim("P30")
def test_each_environment_has_its_own_group_names_and_nothing_crosses_between_them() -> None:
    main = tree("main.bicep")
    [group] = main["resources"].values()
    assert "${environmentName}" in group["config"]["name"]
    named = 0
    for module in main["modules"].values():
        assert _body(module)["scope"] == "group", module["detail"]["path"]
        for key, value in _body(module)["params"].items():
            if key.lower().endswith("name") and isinstance(value, str) and "${" in value:
                assert "environmentName" in value, (module["detail"]["path"], key)
                named += 1
    assert named >= 12, "every resource is named after its environment"
    # No parameter takes another environment's resource: only names, sizes and a principal.
    assert set(main["parameters"]) == {
        "environmentName",
        "location",
        "cosmosMaxThroughput",
        "cosmosThroughput",
        "workerImage",
        "ingestImage",
        "operatorPrincipalId",
    }
    environments = {
        path.stem: json.loads(path.read_text())["parameters"]
        for path in (BICEP / "environments").glob("*.json")
    }
    assert set(environments) == {"test", "prod"}
    assert {name: p["environmentName"]["value"] for name, p in environments.items()} == {
        "test": "test",
        "prod": "prod",
    }


def test_the_function_app_gets_the_settings_marked_for_it_and_secrets_from_key_vault() -> None:
    [app] = _of_type("Microsoft.Web/sites")
    given = {
        entry["name"]: entry["value"] for entry in app["properties"]["siteConfig"]["appSettings"]
    }
    marked = Settings.deployed[Process.function_app]
    assert {name for name in given if name.startswith("WEBCAST_")} == {
        f"WEBCAST_{field.upper()}" for field in marked
    }
    for field in marked:
        secret = Settings.model_fields[field].annotation is SecretStr
        reference = str(given[f"WEBCAST_{field.upper()}"]).startswith("${secret}")
        assert reference == secret, f"{field}: a secret is a Key Vault reference, nothing else is"
    [domain] = _of_type("Microsoft.Communication/emailServices/domains")
    assert domain["properties"]["userEngagementTracking"] == "Disabled", "no tracking in mail"


def _job(container_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Container Apps job that runs `container_name`: its configuration and container."""
    for job in _of_type("Microsoft.App/jobs"):
        [container] = job["properties"]["template"]["containers"]
        if container["name"] == container_name:
            return job["properties"]["configuration"], container
    raise AssertionError(f"no job runs {container_name}")


def _check_marked(
    process: Process, configuration: dict[str, Any], container: dict[str, Any]
) -> None:
    given = {entry["name"]: entry for entry in container["env"]}
    marked = Settings.deployed[process]
    assert {name for name in given if name.startswith("WEBCAST_")} == {
        f"WEBCAST_{field.upper()}" for field in marked
    }
    vault = {secret["name"]: secret for secret in configuration.get("secrets", [])}
    for field in marked:
        entry = given[f"WEBCAST_{field.upper()}"]
        if Settings.model_fields[field].annotation is SecretStr:
            assert "value" not in entry, field
            assert "keyVaultUrl" in vault[entry["secretRef"]], field
        else:
            assert "secretRef" not in entry, field


def test_the_media_worker_job_gets_the_settings_marked_for_it_and_scales_on_its_queue() -> None:
    configuration, container = _job("media-worker")
    _check_marked(Process.media_worker, configuration, container)
    assert container["args"] == ["--once"]
    [rule] = configuration["eventTriggerConfig"]["scale"]["rules"]
    assert rule["type"] == "azure-queue" and rule["identity"] == "identityId"
    assert _item_field(rule["metadata"]["queueName"]) == "transcodeQueue"
    assert infra_catalogue.render()["transcodeQueue"] in infra_catalogue.render()["queues"]
    timeout = Settings.model_fields["media_transcode_timeout_seconds"].default
    assert tree("modules/containerapps.bicep")["variables"]["replicaTimeout"]["value"] > timeout


LIVE = ROOT / "media_pipelines" / "live"


@pytest.mark.claim("P26")
def test_the_live_ingest_takes_rtmps_only_and_gets_the_settings_marked_for_it() -> None:
    """Port 443 outside is stunnel's port inside (TLS 1.2 or later, the mounted Key Vault
    certificate), in front of nginx on loopback; no other port is open."""
    [app] = _of_type("Microsoft.App/containerApps")
    configuration = app["properties"]["configuration"]
    [container] = app["properties"]["template"]["containers"]
    _check_marked(Process.live_ingest, configuration, container)
    ingress = configuration["ingress"]
    assert ingress["external"] is True and ingress["transport"] == "tcp"
    assert "additionalPortMappings" not in ingress
    main = tree("main.bicep")
    ingest = _body(main["modules"]["ingest"])["params"]
    assert (ingest["ingestPort"], ingest["tlsPort"]) == ("ingestPort", "ingestTlsPort")
    assert main["variables"]["ingestPort"]["value"] == 443
    stunnel = (LIVE / "stunnel.conf").read_text()
    assert f"accept = 0.0.0.0:{main['variables']['ingestTlsPort']['value']}\n" in stunnel
    assert ingress["targetPort"] == "tlsPort" and ingress["exposedPort"] == "ingestPort"
    default_port = Settings.model_fields["live_rtmp_port"].default
    assert f"connect = 127.0.0.1:{default_port}\n" in stunnel
    assert "sslVersionMin = TLSv1.2\n" in stunnel
    [volume] = app["properties"]["template"]["volumes"]
    [mounted] = volume["secrets"]
    [mount] = container["volumeMounts"]
    assert f"cert = {mount['mountPath']}/{mounted['path']}\n" in stunnel
    vault = {secret["name"]: secret for secret in configuration.get("secrets", [])}
    assert "keyVaultUrl" in vault[mounted["secretRef"]]
    nginx = (LIVE / "nginx.production.conf.template").read_text()
    assert "listen 127.0.0.1:${rtmp_port};" in nginx and "deny publish all;" in nginx
    dockerfile = (LIVE / "Dockerfile").read_text()
    for package in ("ffmpeg", "libnginx-mod-rtmp", "stunnel4"):
        assert package in dockerfile, package
    assert 'ENTRYPOINT ["/app/media_pipelines/live/entrypoint.sh"]' in dockerfile
    entrypoint = (LIVE / "entrypoint.sh").read_text()
    assert "stunnel /app/media_pipelines/live/stunnel.conf &" in entrypoint
    assert "python -m media_pipelines.live --profile production &" in entrypoint
    # Encoders are told the same place: the function app hands out rtmps://host:443.
    [site] = _of_type("Microsoft.Web/sites")
    given = {e["name"]: e["value"] for e in site["properties"]["siteConfig"]["appSettings"]}
    port = given["WEBCAST_LIVE_RTMP_PORT"]["function"]["parameters"]["value_to_convert"]
    assert (given["WEBCAST_LIVE_RTMP_HOST"], port) == ("liveIngestHost", "liveIngestPort")
    assert _body(main["modules"]["functions"])["params"]["liveIngestHost"] == (
        "${ingestName}.${containerApps.outputs.defaultDomain}"
    )
    assert _body(main["modules"]["functions"])["params"]["liveIngestPort"] == "ingestPort"


# What the templates give each marked setting, as real values (secrets from Key Vault).
DEPLOYED_VALUES = {
    "environment": "azure",
    "cosmos_endpoint": "https://cosmos-webcast-test.documents.azure.com:443/",
    "storage_account_name": "sttest0123456789",
    "backup_account_url": "https://stbaktest01234567.blob.core.windows.net/",
    "public_base_url": "https://fde-webcast-test.z01.azurefd.net",
    "allowed_origins": '["https://fde-webcast-test.z01.azurefd.net"]',
    "front_door_id": "7d3c2f9e-4b1a-4c8d-9e0f-1a2b3c4d5e6f",
    "malware_gate": "defender",
    "media_delivery_base_url": "https://fde-webcast-test.z01.azurefd.net",
    "cdn_purge_endpoint": "/subscriptions/s/resourceGroups/rg-webcast-test/providers/"
    "Microsoft.Cdn/profiles/afd-webcast-test/afdEndpoints/fde-webcast-test",
    "mail_transport": "acs",
    "acs_email_endpoint": "https://acs-webcast-test.europe.communication.azure.com",
    "mail_from": "DoNotReply@0123.azurecomm.net",
    "live_rtmp_host": "ca-live-ingest-test.happy-sky-0123.westeurope.azurecontainerapps.io",
    "live_rtmp_port": "443",
    "lookup_hmac_key": "5b7c1e0d9a8f4e3c2b1a0f9e8d7c6b5a",
    "live_ingest_secret": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
}


@pytest.mark.parametrize("process", list(Process))
def test_a_process_given_only_its_marked_settings_starts_in_azure(
    process: Process, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only what the template gives the process: not the test run's emulator settings.
    for name in list(os.environ):
        if name.startswith(("WEBCAST_", "AzureWebJobsStorage")) or name in AZURE_MARKERS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONTAINER_APP_JOB_NAME", "caj-transcode-test")
    for field in Settings.deployed[process]:
        monkeypatch.setenv(f"WEBCAST_{field.upper()}", DEPLOYED_VALUES.get(field, process.value))
    settings = Settings()
    assert settings.is_azure and settings.malware_gate == "defender"
    assert not settings.cosmos_emulator and settings.storage_connection_string is None
    assert settings.process == process
    # Least privilege: a secret the process is not marked for is withheld, and reading it
    # fails loudly instead of handing out the local-development default.
    for name in SECRETS:
        secret = getattr(settings, name)
        if name in Settings.deployed[process]:
            assert secret.get_secret_value() == DEPLOYED_VALUES[name]
        else:
            assert isinstance(secret, WithheldSecret), name
            with pytest.raises(RuntimeError, match=f"WEBCAST_{name.upper()} is not given"):
                secret.get_secret_value()


def test_a_process_missing_a_secret_marked_for_it_is_refused_in_azure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith(("WEBCAST_", "AzureWebJobsStorage")) or name in AZURE_MARKERS:
            monkeypatch.delenv(name)
    process = Process.live_ingest
    for field in Settings.deployed[process] - {"live_ingest_secret"}:
        monkeypatch.setenv(f"WEBCAST_{field.upper()}", DEPLOYED_VALUES.get(field, process.value))
    with pytest.raises(ValueError, match="WEBCAST_LIVE_INGEST_SECRET"):
        Settings()


@pytest.mark.claim("P32")
def test_a_daily_export_goes_to_a_separate_account_and_expires_within_the_deletion_window() -> None:
    configuration, container = _job("store-export")
    _check_marked(Process.store_export, configuration, container)
    assert configuration["triggerType"] == "Schedule"
    assert container["command"] == ["python", "-m", "shared.cli", "export-stores"]
    resources = tree("modules/backup.bicep")["resources"]
    account = _body(resources["account"])
    assert account["sku"]["name"] == "Standard_ZRS" and account["location"] == "location"
    assert account["properties"]["allowSharedKeyAccess"] is False
    [rule] = _body(resources["lifecycle"])["properties"]["policy"]["rules"]
    expiry = rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterCreationGreaterThan"]
    assert _item_field(expiry) == "softDeleteDays", "no export outlives the deletion window"
    assert _item_field(_body(resources["exports"])["name"]) == "storeExportContainer"
    modules = tree("main.bicep")["modules"]
    assert (
        modules["backup"]["config"]["params"]["name"]
        != modules["storage"]["config"]["params"]["name"]
    )
    assert (
        modules["containerApps"]["config"]["params"]["backupAccountUrl"]
        != (modules["storage"]["config"]["params"]["name"])
    )


# Every resource of these types sends its logs (or metrics) to Log Analytics.
DIAGNOSED = {
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.Storage/storageAccounts/queueServices",
    "Microsoft.DocumentDB/databaseAccounts",
    "Microsoft.KeyVault/vaults",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.App/managedEnvironments",
    "Microsoft.Web/sites",
    "Microsoft.EventGrid/systemTopics",
    "Microsoft.EventGrid/topics",
    "Microsoft.Cdn/profiles",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/virtualNetworks",
}
NOT_COLLECTED = {
    "Microsoft.Communication/communicationServices": "its mail delivery logs name recipients",
}


def test_every_resource_that_has_diagnostics_sends_them_and_addresses_stay_short() -> None:
    for name in RESOURCES:
        resources = tree(name)["resources"]
        scoped = {
            _body(resource)["scope"]
            for resource in resources.values()
            if resource["type"] == "Microsoft.Insights/diagnosticSettings"
        }
        for symbol, resource in resources.items():
            if resource["existing"] or resource["type"] in NOT_COLLECTED:
                continue
            if resource["type"] in DIAGNOSED:
                assert symbol in scoped, f"{name}: {symbol} sends no diagnostics"
    [front_door] = [
        _body(resource)
        for resource in tree("modules/frontdoor.bicep")["resources"].values()
        if resource["type"] == "Microsoft.Insights/diagnosticSettings"
    ]
    assert "logs" not in front_door["properties"], "its access logs hold signed URLs and addresses"
    tables = tree("modules/monitoring.bicep")["resources"]["tables"]
    body = _loop_body(tables, "shortLivedTables")
    assert _item_field(body["properties"]["retentionInDays"]) == "softDeleteDays"
    assert _item_field(body["properties"]["totalRetentionInDays"]) == "softDeleteDays"
    listed = tree("modules/monitoring.bicep")["variables"]["shortLivedTables"]["value"]
    assert {"AppRequests", "StorageBlobLogs", "FunctionAppLogs"} <= set(listed)
    [insights] = _of_type("Microsoft.Insights/components")
    assert insights["properties"]["DisableIpMasking"] is False


def _loop_body(resource: dict[str, Any], variable: str) -> dict[str, Any]:
    """The body of a resource that loops over the variable `variable`."""
    config = resource["config"]
    assert config["loop_type"]["detail"]["array_name"] == variable
    body: dict[str, Any] = config["config"]
    return body
