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
    Write-Output ('LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' '))
    exit 4
}
Write-Output ('LYNCTRUST' + $tab + 'source' + $tab + $source)
$wanted = @($extraWanted)
foreach ($c in $configs) {
    Write-Output (@('LYNCTRUST', 'config', $c.Identity, $c.InferCertChainFromSSL, $c.UseCertificateAuth, $c.UsePinAuth) -join $tab)
    foreach ($t in $c.TrustedCACerts) {
        Write-Output (@('LYNCTRUST', 'trusted', $c.Identity, $t.Thumbprint, $t.CAStore) -join $tab)
        $wanted += (($t.Thumbprint -replace $noise, '').ToUpper() + ':' + $t.CAStore)
    }
}
# Pools, their computers and services come from the local replica of the
# topology (Get-CsTopology -LocalStore): Get-CsPool and Get-CsService have no
# -LocalStore and read the store itself, a second hop from most servers.
$topology = Get-CsTopology -LocalStore
if (@($topology.Clusters).Count -eq 0) {
    Write-Output ('LYNCTRUST' + $tab + 'error' + $tab + 'read-failed' + $tab + 'Get-CsTopology -LocalStore returned no Clusters on ' + $env:COMPUTERNAME)
    exit 4
}
foreach ($p in @($topology.Clusters)) {
    Write-Output (@('LYNCTRUST', 'pool', $p.Identity, $p.Site) -join $tab)
    foreach ($computer in $p.Computers) {
        Write-Output (@('LYNCTRUST', 'computer', $p.Identity, $computer) -join $tab)
    }
    foreach ($service in $p.Services) {
        if ($service -like 'WebServer:*') {
            Write-Output (@('LYNCTRUST', 'webserver', $p.Identity, $p.Site) -join $tab)
        }
        if ($service -like 'Director:*') {
            Write-Output (@('LYNCTRUST', 'director', $p.Identity) -join $tab)
        }
    }
}
try {
    foreach ($r in @(Get-CsManagementStoreReplicationStatus)) {
        Write-Output (@('LYNCTRUST', 'replica', $r.ReplicaFqdn, $r.UpToDate) -join $tab)
    }
} catch {
    Write-Output ('LYNCTRUST' + $tab + 'replication-unknown' + $tab + ($_.Exception.Message -replace '[\t\r\n]+', ' '))
}
