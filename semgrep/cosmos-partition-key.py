# Examples for `semgrep --test`: each `ruleid` line must be found, each `ok` line must not.


def tenant_items(container, tenant_id):
    # ok: cosmos-query-without-partition-key
    return container.query_items(
        "SELECT * FROM c WHERE c.tenant_id = @t",
        parameters=[{"name": "@t", "value": tenant_id}],
        partition_key=tenant_id,
    )


def every_tenant(container):
    # ruleid: cosmos-query-without-partition-key
    return container.query_items("SELECT * FROM c", enable_cross_partition_query=True)


def whole_container(container):
    # ruleid: cosmos-query-without-partition-key
    return list(container.read_all_items())


def annotated(container):
    # A maintenance job over all tenants, reviewed.
    return container.query_items(  # nosemgrep: cosmos-query-without-partition-key
        "SELECT c.id FROM c", enable_cross_partition_query=True
    )
