# lynctrust: run the change as a one-shot scheduled task under the
# administrator's own account. A WinRM network logon holds no credentials
# for the second hop to the Enterprise Edition SQL back end; the task's batch
# logon does. The task and its files are removed afterwards, whatever happens.
#
# schtasks refuses a /TR over 261 characters, so the task runs a short batch
# file from %TEMP% with short names. schtasks writes warnings to standard
# error (a /ST earlier than now), which 'Stop' would turn into a terminating
# error: it runs under 'Continue' with 2>&1, and its exit code decides. Its
# status words are the server's language and a task started with /Run may
# not show as running yet, so the script waits for the task's result file,
# which the batch file renames into place when PowerShell has finished.
$ErrorActionPreference = 'Stop'
$tab = "`t"
$id = [guid]::NewGuid().ToString().Substring(0, 8)
$name = 'lynctrust-' + $id
$base = $env:TEMP + '\lt' + $id
$file = $base + '.ps1'
$batch = $base + '.cmd'
$out = $base + '.out'
$result = $base + '.txt'
Set-Content -Path $file -Value $inner
Set-Content -Path $batch -Value @(('@powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $file + '" > "' + $out + '" 2>&1'), ('@ren "' + $out + '" lt' + $id + '.txt'))
try {
    $ErrorActionPreference = 'Continue'
    $taskRun = '"' + $batch + '"'
    $created = schtasks.exe /Create /TN $name /TR $taskRun /SC ONCE /ST 00:00 /RU $taskUser /RP $taskPassword /RL HIGHEST /F 2>&1
    $createCode = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($createCode -ne 0) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'task', ('schtasks /Create: ' + ((@($created) -join ' ') -replace '[\t\r\n]+', ' '))) -join $tab)
        exit 8
    }
    $ErrorActionPreference = 'Continue'
    $ran = schtasks.exe /Run /TN $name 2>&1
    $runCode = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($runCode -ne 0) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'task', ('schtasks /Run: ' + ((@($ran) -join ' ') -replace '[\t\r\n]+', ' '))) -join $tab)
        exit 8
    }
    $waited = 0
    while ((-not (Test-Path $result)) -and ($waited -lt 600)) {
        Start-Sleep -Seconds 1
        $waited += 1
    }
    if (-not (Test-Path $result)) {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'task', ('the task ' + $name + ' did not finish within 600 seconds')) -join $tab)
        exit 8
    }
    foreach ($line in @(Get-Content -Path $result)) {
        if ($line.StartsWith('LYNCTRUST')) {
            [Console]::Out.WriteLine($line)
        } else {
            if ($line.Trim() -ne '') {
                [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'task-output', ($line -replace '[\t\r\n]+', ' ')) -join $tab)
            }
        }
    }
} finally {
    $ErrorActionPreference = 'Continue'
    schtasks.exe /Delete /TN $name /F 2>&1 | Out-Null
    foreach ($f in @($file, $batch, $out, $result)) {
        if (Test-Path $f) {
            Remove-Item -Path $f -Force
        }
    }
}
