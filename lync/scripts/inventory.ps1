# lynctrust: read every Web Services configuration collection, the
# topology and the replication status, then look for each trusted
# certificate in this server's LocalMachine stores. An audit reads the local
# replica of the Central Management Store (-LocalStore): no second hop. Before
# a change ($fromCMS) the collections are read from the store itself, which
# the change's compare-and-swap reads too; where the second hop is refused
# (Enterprise Edition over WinRM) the replica is read instead.
# Records are gathered in $records and printed in one write at the end
# (endBuffered; the change session's ready record), so that they arrive
# together. For an audit ($earlyTopology) with other web servers in the
# topology, the module record, the collections and the topology go out
# earlier, in one write ended by the topology record: they are what
# lynctrust needs to check the other servers' stores, which it starts as
# soon as they arrive, while this server reads its replication status and
# its own stores.
$nl = "`r`n"
$records = $moduleRecord + $nl
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
    [Console]::Out.Write($records + 'LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' ') + $nl)
    exit 4
}
$records += 'LYNCTRUST' + $tab + 'source' + $tab + $source + $nl
$wanted = @($extraWanted)
foreach ($c in $configs) {
    $records += (@('LYNCTRUST', 'config', $c.Identity, $c.InferCertChainFromSSL, $c.UseCertificateAuth, $c.UsePinAuth) -join $tab) + $nl
    foreach ($t in $c.TrustedCACerts) {
        $records += (@('LYNCTRUST', 'trusted', $c.Identity, $t.Thumbprint, $t.CAStore) -join $tab) + $nl
        $wanted += (($t.Thumbprint -replace $noise, '').ToUpper() + ':' + $t.CAStore)
    }
}
# Pools, their computers and services come from the local replica of the
# topology (Get-CsTopology -LocalStore): Get-CsPool and Get-CsService have no
# -LocalStore and read the store itself, a second hop from most servers.
$topology = Get-CsTopology -LocalStore
if (@($topology.Clusters).Count -eq 0) {
    [Console]::Out.Write($records + 'LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + 'Get-CsTopology -LocalStore returned no Clusters on ' + $env:COMPUTERNAME + $nl)
    exit 4
}
$webServers = 0
foreach ($p in @($topology.Clusters)) {
    $records += (@('LYNCTRUST', 'pool', $p.Identity, $p.Site) -join $tab) + $nl
    $computers = 0
    $web = $false
    # PowerShell 2.0 runs a foreach over $null once: skip that $null.
    foreach ($computer in $p.Computers) {
        if ($computer -eq $null) { continue }
        $records += (@('LYNCTRUST', 'computer', $p.Identity, $computer) -join $tab) + $nl
        $computers += 1
    }
    foreach ($service in $p.Services) {
        if ($service -eq $null) { continue }
        if ($service -like 'WebServer:*') {
            $records += (@('LYNCTRUST', 'webserver', $p.Identity, $p.Site) -join $tab) + $nl
            $web = $true
        }
        if ($service -like 'Director:*') {
            $records += (@('LYNCTRUST', 'director', $p.Identity) -join $tab) + $nl
        }
    }
    if ($web) {
        $webServers += $computers
    }
}
$records += 'LYNCTRUST' + $tab + 'topology' + $nl
if ($earlyTopology -and ($webServers -gt 1)) {
    [Console]::Out.Write($records)
    $records = ''
}
try {
    foreach ($r in @(Get-CsManagementStoreReplicationStatus)) {
        $records += (@('LYNCTRUST', 'replica', $r.ReplicaFqdn, $r.UpToDate) -join $tab) + $nl
    }
} catch {
    $records += 'LYNCTRUST' + $tab + 'replication-unknown' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' ') + $nl
}
