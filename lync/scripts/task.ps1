# lynctrust: run the change as a one-shot scheduled task under the
# administrator's own account. A WinRM network logon holds no credentials
# for the second hop to the Enterprise Edition SQL back end; the task's
# password logon does. The task and its files are removed afterwards,
# whatever happens.
#
# The task is registered through the Task Scheduler's COM interface
# (Schedule.Service, Task Scheduler 2.0: Windows Vista and Server 2008 and
# later), not schtasks.exe: the password never appears on a command line
# (process-creation auditing, event 4688, records command lines) nor in this
# script's text (Script Block Logging, event 4104, records it). It arrives in
# the WinRM shell's environment, which the script reads once and clears
# before it starts anything, so no process it starts inherits it.
#
# The task runs a short batch file from %TEMP%, and the script waits for the
# task's result file, which the batch file renames into place when
# PowerShell has finished.
$ErrorActionPreference = 'Stop'
$tab = "`t"
$taskPassword = $env:LYNCTRUST_TASK_PASSWORD
$env:LYNCTRUST_TASK_PASSWORD = $null
if (($taskPassword -eq $null) -or ($taskPassword -eq '')) {
    [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'task', 'the password for the task did not arrive in the shell environment') -join $tab)
    exit 8
}
$id = [guid]::NewGuid().ToString().Substring(0, 8)
$name = 'lynctrust-' + $id
$base = $env:TEMP + '\lt' + $id
$file = $base + '.ps1'
$batch = $base + '.cmd'
$out = $base + '.out'
$result = $base + '.txt'
Set-Content -Path $file -Value $inner
Set-Content -Path $batch -Value @(('@powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $file + '" > "' + $out + '" 2>&1'), ('@ren "' + $out + '" lt' + $id + '.txt'))
$folder = $null
try {
    try {
        $service = New-Object -ComObject Schedule.Service
        $service.Connect()
        $folder = $service.GetFolder('\')
        # NewTask(0); Actions.Create(0) is TASK_ACTION_EXEC; RunLevel 1 is
        # TASK_RUNLEVEL_HIGHEST.
        $definition = $service.NewTask(0)
        $definition.Principal.RunLevel = 1
        $action = $definition.Actions.Create(0)
        $action.Path = $batch
        # 6 is TASK_CREATE_OR_UPDATE; 1 is TASK_LOGON_PASSWORD.
        $task = $folder.RegisterTaskDefinition($name, $definition, 6, $taskUser, $taskPassword, 1)
        $taskPassword = $null
        $task.Run($null) | Out-Null
    } catch {
        $taskPassword = $null
        [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'task', ('registering the task: ' + ($_.Exception.Message -replace '[\t\r\n]+', ' '))) -join $tab)
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
    if ($folder -ne $null) {
        try {
            $folder.DeleteTask($name, 0)
        } catch {
        }
    }
    foreach ($f in @($file, $batch, $out, $result)) {
        if (Test-Path $f) {
            Remove-Item -Path $f -Force
        }
    }
}
