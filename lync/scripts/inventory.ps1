# lynctrust: read every Web Services configuration collection, the
# topology and the replication status, then look for each trusted
# certificate in this server's LocalMachine stores. An audit reads the local
# replica of the Central Management Store (-LocalStore): no second hop. Before
# a change ($fromCMS) the collections are read from the store itself, which
# the change's compare-and-swap reads too; where the second hop is refused
# (Enterprise Edition over WinRM) the replica is read instead.
# The module record, the collections and the topology go out in one write,
# ended by the topology record: they are what lynctrust needs to check the
# other web servers' stores, which it starts as soon as they arrive, while
# this server goes on to its replication status and its own stores.
$nl = "`r`n"
$early = $moduleRecord + $nl
$source = 'replica'
try {
    if ($fromCMS) {
        try {
            $configs = @(Get-CsWebServiceConfiguration)
            $source = 'cms'
        } catch {
            $configs = @(Get-CsWebServiceConfiguration -LocalStore)
        }
    } else {
        $configs = @(Get-CsWebServiceConfiguration -LocalStore)
    }
} catch {
    [Console]::Out.Write($early + 'LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' ') + $nl)
    exit 4
}
$early += 'LYNCTRUST' + $tab + 'source' + $tab + $source + $nl
$wanted = @($extraWanted)
foreach ($c in $configs) {
    $early += (@('LYNCTRUST', 'config', $c.Identity, $c.InferCertChainFromSSL, $c.UseCertificateAuth, $c.UsePinAuth) -join $tab) + $nl
    foreach ($t in $c.TrustedCACerts) {
        $early += (@('LYNCTRUST', 'trusted', $c.Identity, $t.Thumbprint, $t.CAStore) -join $tab) + $nl
        $wanted += (($t.Thumbprint -replace $noise, '').ToUpper() + ':' + $t.CAStore)
    }
}
# Pools, their computers and services come from the local replica of the
# topology (Get-CsTopology -LocalStore): Get-CsPool and Get-CsService have no
# -LocalStore and read the store itself, a second hop from most servers.
$topology = Get-CsTopology -LocalStore
if (@($topology.Clusters).Count -eq 0) {
    [Console]::Out.Write($early + 'LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + 'Get-CsTopology -LocalStore returned no Clusters on ' + $env:COMPUTERNAME + $nl)
    exit 4
}
foreach ($p in @($topology.Clusters)) {
    $early += (@('LYNCTRUST', 'pool', $p.Identity, $p.Site) -join $tab) + $nl
    # PowerShell 2.0 runs a foreach over $null once: skip that $null.
    foreach ($computer in $p.Computers) {
        if ($computer -eq $null) { continue }
        $early += (@('LYNCTRUST', 'computer', $p.Identity, $computer) -join $tab) + $nl
    }
    foreach ($service in $p.Services) {
        if ($service -eq $null) { continue }
        if ($service -like 'WebServer:*') {
            $early += (@('LYNCTRUST', 'webserver', $p.Identity, $p.Site) -join $tab) + $nl
        }
        if ($service -like 'Director:*') {
            $early += (@('LYNCTRUST', 'director', $p.Identity) -join $tab) + $nl
        }
    }
}
[Console]::Out.Write($early + 'LYNCTRUST' + $tab + 'topology' + $nl)
try {
    foreach ($r in @(Get-CsManagementStoreReplicationStatus)) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'replica', $r.ReplicaFqdn, $r.UpToDate) -join $tab)
    }
} catch {
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'replication-unknown' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' '))
}
