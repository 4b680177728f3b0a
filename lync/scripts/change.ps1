# lynctrust: change TrustedCACerts of one or more Web Services configuration
# collections, with a compare-and-swap: each collection is read again and
# compared with what lynctrust read before; if anyone changed it meanwhile,
# nothing is written. After the write the collection is read back.
# Stored thumbprints are compared normalised ($noise, in the prelude): an
# entry saved years ago with spaces or U+200E must not look changed.
$done = 0
foreach ($change in $changes) {
    $identity = $change[0]
    $expected = $change[1]
    $c = Get-CsWebServiceConfiguration -Identity $identity
    if ($c -eq $null) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'no-collection', $identity) -join $tab)
        exit 6
    }
    $current = @($c.TrustedCACerts | ForEach-Object { ($_.Thumbprint -replace $noise, '').ToUpper() + ':' + $_.CAStore }) -join ','
    if ($current -ne $expected) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'conflict', $identity, $current) -join $tab)
        exit 5
    }
}
foreach ($change in $changes) {
    $identity = $change[0]
    $action = $change[2]
    $entries = $change[3]
    $c = Get-CsWebServiceConfiguration -Identity $identity
    if ($action -eq 'Add') {
        $certs = @()
        foreach ($e in $entries) {
            $parts = $e -split ':'
            $certs += New-CsWebTrustedCACertificate -Thumbprint $parts[0] -CAStore $parts[1]
        }
        Set-CsWebServiceConfiguration -Identity $identity -TrustedCACerts @{Add=$certs}
    }
    if ($action -eq 'Remove') {
        # As the reference removes one item of a list (Set-CsWebServiceConfiguration,
        # Example 6): from the object read, written back with -Instance. The
        # items are that object's own: a new object need not compare equal.
        $items = @($c.TrustedCACerts | Where-Object { $entries -contains (($_.Thumbprint -replace $noise, '').ToUpper() + ':' + $_.CAStore) })
        foreach ($item in $items) {
            $removed = $c.TrustedCACerts.Remove($item)
        }
        Set-CsWebServiceConfiguration -Instance $c
    }
    if ($action -eq 'Replace') {
        $certs = @()
        foreach ($e in $entries) {
            $parts = $e -split ':'
            $certs += New-CsWebTrustedCACertificate -Thumbprint $parts[0] -CAStore $parts[1]
        }
        if ($certs.Count -eq 0) {
            Set-CsWebServiceConfiguration -Identity $identity -TrustedCACerts $null
        } else {
            Set-CsWebServiceConfiguration -Identity $identity -TrustedCACerts @{Replace=$certs}
        }
    }
    $done += 1
    [Console]::Out.WriteLine(@('LYNCTRUST', 'written', $identity) -join $tab)
}
foreach ($change in $changes) {
    $identity = $change[0]
    $after = Get-CsWebServiceConfiguration -Identity $identity
    [Console]::Out.WriteLine(@('LYNCTRUST', 'after', $identity, (@($after.TrustedCACerts | ForEach-Object { ($_.Thumbprint -replace $noise, '').ToUpper() + ':' + $_.CAStore }) -join ',')) -join $tab)
}
