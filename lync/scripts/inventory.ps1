# lynctrust: read every Web Services configuration collection, the
# topology and the replication status, then look for each trusted
# certificate in this server's LocalMachine stores. An audit reads the local
# replica of the Central Management Store (-LocalStore): no second hop. Before
# a change ($fromCMS) the collections are read from the store itself, which
# the change's compare-and-swap reads too; where the second hop is refused
# (Enterprise Edition over WinRM) the replica is read instead.
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
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' '))
    exit 4
}
[Console]::Out.WriteLine('LYNCTRUST' + $tab + 'source' + $tab + $source)
$wanted = @($extraWanted)
foreach ($c in $configs) {
    [Console]::Out.WriteLine(@('LYNCTRUST', 'config', $c.Identity, $c.InferCertChainFromSSL, $c.UseCertificateAuth, $c.UsePinAuth) -join $tab)
    foreach ($t in $c.TrustedCACerts) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'trusted', $c.Identity, $t.Thumbprint, $t.CAStore) -join $tab)
        $wanted += (($t.Thumbprint -replace $noise, '').ToUpper() + ':' + $t.CAStore)
    }
}
# Pools, their computers and services come from the local replica of the
# topology (Get-CsTopology -LocalStore): Get-CsPool and Get-CsService have no
# -LocalStore and read the store itself, a second hop from most servers.
$topology = Get-CsTopology -LocalStore
if (@($topology.Clusters).Count -eq 0) {
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + 'Get-CsTopology -LocalStore returned no Clusters on ' + $env:COMPUTERNAME)
    exit 4
}
foreach ($p in @($topology.Clusters)) {
    [Console]::Out.WriteLine(@('LYNCTRUST', 'pool', $p.Identity, $p.Site) -join $tab)
    # PowerShell 2.0 runs a foreach over $null once: skip that $null.
    foreach ($computer in $p.Computers) {
        if ($computer -eq $null) { continue }
        [Console]::Out.WriteLine(@('LYNCTRUST', 'computer', $p.Identity, $computer) -join $tab)
    }
    foreach ($service in $p.Services) {
        if ($service -eq $null) { continue }
        if ($service -like 'WebServer:*') {
            [Console]::Out.WriteLine(@('LYNCTRUST', 'webserver', $p.Identity, $p.Site) -join $tab)
        }
        if ($service -like 'Director:*') {
            [Console]::Out.WriteLine(@('LYNCTRUST', 'director', $p.Identity) -join $tab)
        }
    }
}
try {
    foreach ($r in @(Get-CsManagementStoreReplicationStatus)) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'replica', $r.ReplicaFqdn, $r.UpToDate) -join $tab)
    }
} catch {
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'replication-unknown' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' '))
}
